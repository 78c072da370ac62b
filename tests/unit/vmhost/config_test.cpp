#include "instance/config.h"

#include <gtest/gtest.h>

#include "berth/common/fs.h"
#include "test_dir.h"

namespace berth::instance {
namespace {

using vmhost_test::TestDir;

TEST(Config, DefaultsAreEmbedded) {
  Config c = default_config("default", "/home/u");
  EXPECT_EQ(c.name, "default");
  EXPECT_EQ(c.arch, host_arch());
  EXPECT_EQ(c.vm_type, "auto");
  EXPECT_EQ(c.cpus, 2u);
  EXPECT_EQ(c.memory, uint64_t{2} << 30);
  EXPECT_EQ(c.disk, uint64_t{20} << 30);
  ASSERT_EQ(c.mounts.size(), 1u);
  EXPECT_EQ(c.mounts[0], (Mount{"/home/u", true}));
  EXPECT_TRUE(validate(c));
  EXPECT_TRUE(default_config("x", "").mounts.empty());
  EXPECT_TRUE(default_config("x", "/").mounts.empty());
}

TEST(Config, OverridesReplaceOnlyWhatIsGiven) {
  Config c = default_config("dev", "/home/u");
  Overrides o;
  o.cpus = 4;
  o.memory = uint64_t{4} << 30;
  auto r = apply_overrides(c, o, false);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->cpus, 4u);
  EXPECT_EQ(r->memory, uint64_t{4} << 30);
  EXPECT_EQ(r->disk, c.disk);
  EXPECT_EQ(r->mounts, c.mounts);

  Overrides m;
  m.mounts = std::vector<Mount>{{"/src", false}};
  auto r2 = apply_overrides(*r, m, true);
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->mounts, (std::vector<Mount>{{"/src", false}}));
  EXPECT_EQ(r2->cpus, 4u);
}

TEST(Config, ExistingInstancesKeepArchAndCannotShrinkTheirDisk) {
  Config c = default_config("dev", "");
  c.arch = "amd64";
  Overrides arch;
  arch.arch = "arm64";
  EXPECT_TRUE(apply_overrides(c, arch, false));
  auto r = apply_overrides(c, arch, true);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("berth delete dev"), std::string::npos) << r.error().what();

  Overrides smaller;
  smaller.disk = uint64_t{10} << 30;
  EXPECT_TRUE(apply_overrides(c, smaller, false));
  auto s = apply_overrides(c, smaller, true);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().what().find("not shrink"), std::string::npos) << s.error().what();
  Overrides larger;
  larger.disk = uint64_t{40} << 30;
  EXPECT_TRUE(apply_overrides(c, larger, true));
}

TEST(Config, ValidationNamesTheField) {
  Config c = default_config("dev", "");
  c.cpus = 0;
  EXPECT_NE(validate(c).error().what().find("cpus"), std::string::npos);
  c = default_config("dev", "");
  c.memory = 2048;
  auto m = validate(c);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().what().find("memory"), std::string::npos);
  EXPECT_NE(m.error().what().find("2G"), std::string::npos);  // the hint about units
  c = default_config("dev", "");
  c.memory = (uint64_t{1} << 30) + 1;
  EXPECT_NE(validate(c).error().what().find("whole number of MiB"), std::string::npos);
  c = default_config("dev", "");
  c.disk = uint64_t{100} << 20;
  EXPECT_NE(validate(c).error().what().find("disk"), std::string::npos);
  c = default_config("dev", "");
  c.arch = "riscv64";
  EXPECT_NE(validate(c).error().what().find("arch"), std::string::npos);
  c = default_config("dev", "");
  c.vm_type = "xen";
  EXPECT_NE(validate(c).error().what().find("vm_type"), std::string::npos);
  c = default_config("dev", "");
  c.mounts = {{"/a", true}, {"/a", false}};
  EXPECT_NE(validate(c).error().what().find("twice"), std::string::npos);
}

TEST(Config, PersistsAndReloadsExactly) {
  TestDir dir;
  Config c = default_config("dev", "/home/u");
  c.cpus = 3;
  c.memory = uint64_t{1536} << 20;
  c.disk = uint64_t{30} << 30;
  c.vm_type = "qemu";
  c.mounts.push_back({"/srv/data", false});
  ASSERT_TRUE(save(dir / "config.json", c));
  auto text = fs::read_file(dir / "config.json");
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("\"memory\": \"1536MiB\""), std::string::npos) << *text;
  auto loaded = load(dir / "config.json");
  ASSERT_TRUE(loaded) << loaded.error().what();
  EXPECT_EQ(*loaded, c);
}

TEST(Config, HandEditedValuesAreAcceptedOrRejectedByField) {
  auto c = from_json(R"({"name":"dev","memory":4294967296,"disk":"8G","cpus":1})");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->memory, uint64_t{4} << 30);
  EXPECT_EQ(c->disk, uint64_t{8} << 30);
  EXPECT_EQ(c->arch, host_arch());  // missing fields take the defaults

  struct Case {
    const char* json;
    const char* field;
  } cases[] = {
      {R"({"name":"dev","memory":"lots"})", "memory"},
      {R"({"name":"dev","cpus":"two"})", "cpus"},
      {R"({"name":"dev","cpus":0})", "cpus"},
      {R"({"name":"dev","mounts":[{"writable":true}]})", "mounts[0].path"},
      {R"({"name":"dev","mounts":[{"path":"/a","writable":"yes"}]})", "mounts[0].writable"},
      {R"({"name":"dev","mounts":"/a"})", "mounts"},
      {R"({"name":"a/b"})", "a/b"},
      {R"({"memory":"2G"})", "name"},
      {R"({"name":"dev","schema":2})", "schema"},
      {R"([1,2])", "top level"},
      {R"({"name":)", "malformed"},
  };
  for (const auto& k : cases) {
    auto r = from_json(k.json);
    ASSERT_FALSE(r) << k.json;
    EXPECT_NE(r.error().what().find(k.field), std::string::npos) << k.json << " -> " << r.error().what();
    EXPECT_NE(r.error().what().find("config.json"), std::string::npos) << r.error().what();
  }
}

}  // namespace
}  // namespace berth::instance
