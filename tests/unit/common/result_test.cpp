#include <gtest/gtest.h>

#include "berth/common/fs.h"
#include "berth/common/json.h"
#include "berth/common/result.h"

namespace berth {
namespace {

Result<int> half(int v) {
  if (v % 2) return make_error(Errc::invalid_argument, "odd");
  return v / 2;
}

Result<int> quarter(int v) {
  int h = BERTH_TRY(half(v));
  return BERTH_TRY(half(h));
}

TEST(Result, TryPropagatesErrors) {
  EXPECT_EQ(quarter(8).value(), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().message, "odd");
}

TEST(Result, SysErrorMapsErrnoAndFormats) {
  auto e = sys_error("open /x", ENOENT).value();
  EXPECT_EQ(e.code, Errc::not_found);
  EXPECT_EQ(e.what(), "open /x: No such file or directory");
  e.context("load");
  EXPECT_EQ(e.what(), "load: open /x: No such file or directory");
}

TEST(Json, ErrorsNameTheField) {
  auto doc = parse_json(R"({"process":{"args":["a",3]}})").value();
  auto r = json_boundary("config.json", [&] {
    return jsonf::opt_string_array(doc["process"], "args", "process.args");
  });
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("process.args[1]"), std::string::npos) << r.error().message;
}

TEST(Json, MalformedIsInvalidArgument) {
  auto r = parse_json("{nope", "body");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

TEST(Fs, AtomicWriteReplacesContent) {
  char tmpl[] = "/tmp/berth-fs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/f";
  ASSERT_TRUE(fs::write_file_atomic(path, "one"));
  ASSERT_TRUE(fs::write_file_atomic(path, "two"));
  EXPECT_EQ(fs::read_file(path).value(), "two");
  EXPECT_FALSE(fs::read_file(std::string(tmpl) + "/missing"));
  ASSERT_TRUE(fs::remove_all(tmpl));
  EXPECT_FALSE(fs::exists(tmpl));
}

}  // namespace
}  // namespace berth
