#include "instance/name.h"

#include <gtest/gtest.h>

namespace berth::instance {
namespace {

TEST(InstanceName, AcceptsConservativeNames) {
  for (const char* ok : {"default", "dev", "a", "A-1", "my_vm.2", "0x"}) EXPECT_TRUE(validate_name(ok)) << ok;
  EXPECT_TRUE(validate_name(std::string(kMaxNameLength, 'a')));
}

TEST(InstanceName, RejectsPathsAndOddCharacters) {
  for (const char* bad : {"", "a/b", "/abs", "..", "a..b", ".", ".hidden", "-rf", "_x", "with space", "tab\t",
                          "ünï", "a:b", "a$b", "a\\b"}) {
    auto r = validate_name(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().what().find("invalid instance name"), std::string::npos);
  }
  EXPECT_FALSE(validate_name(std::string(kMaxNameLength + 1, 'a')));
  EXPECT_NE(validate_name("a/b").error().what().find("'/'"), std::string::npos);
  EXPECT_NE(validate_name("..").error().what().find("'..'"), std::string::npos);
}

}  // namespace
}  // namespace berth::instance
