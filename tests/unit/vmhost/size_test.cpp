#include "instance/size.h"

#include <gtest/gtest.h>

namespace berth::instance {
namespace {

TEST(Size, ParsesBinaryUnits) {
  EXPECT_EQ(parse_size("2G", "--memory").value(), uint64_t{2} << 30);
  EXPECT_EQ(parse_size("2GiB", "--memory").value(), uint64_t{2} << 30);
  EXPECT_EQ(parse_size("2gb", "--memory").value(), uint64_t{2} << 30);
  EXPECT_EQ(parse_size("512MiB", "--memory").value(), uint64_t{512} << 20);
  EXPECT_EQ(parse_size("512m", "--memory").value(), uint64_t{512} << 20);
  EXPECT_EQ(parse_size("20GiB", "--disk").value(), uint64_t{20} << 30);
  EXPECT_EQ(parse_size("1T", "--disk").value(), uint64_t{1} << 40);
  EXPECT_EQ(parse_size("4k", "x").value(), 4096u);
  EXPECT_EQ(parse_size("1.5G", "x").value(), uint64_t{3} << 29);
  EXPECT_EQ(parse_size("1073741824", "x").value(), uint64_t{1} << 30);
  EXPECT_EQ(parse_size("100B", "x").value(), 100u);
}

TEST(Size, BadInputIsAnErrorNamingTheValue) {
  for (const char* bad : {"", "G", "2X", "2 G", "-1G", "1.G", "abc", "2GiBs", "99999999999999999999", "16777216T",
                          "0.5"}) {
    auto r = parse_size(bad, "--memory");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().what().find("--memory"), std::string::npos) << r.error().what();
    EXPECT_NE(r.error().what().find("\"" + std::string(bad) + "\""), std::string::npos) << r.error().what();
  }
}

TEST(Size, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(format_size(uint64_t{2} << 30), "2GiB");
  EXPECT_EQ(format_size(uint64_t{1536} << 20), "1536MiB");
  EXPECT_EQ(format_size(uint64_t{20} << 30), "20GiB");
  EXPECT_EQ(format_size(100), "100B");
  EXPECT_EQ(format_size(0), "0B");
  for (uint64_t v : {uint64_t{3} << 29, uint64_t{7} << 40, uint64_t{12345}}) {
    EXPECT_EQ(parse_size(format_size(v), "x").value(), v);
  }
}

}  // namespace
}  // namespace berth::instance
