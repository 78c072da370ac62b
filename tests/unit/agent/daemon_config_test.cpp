// The daemon configuration file (dockerd's daemon.json format) and how its registry settings
// combine with the command line.
#include <gtest/gtest.h>
#include <unistd.h>

#include "berth/common/fs.h"
#include "core/daemon_config.h"
#include "process.h"

namespace berth::agent {
namespace {

TEST(DaemonConfig, ReadsRegistrySettingsAndReportsTheRest) {
  auto c = parse_daemon_config(R"({"registry-mirrors":["https://m.example"],
                                   "insecure-registries":["10.0.0.0/8","reg:5000"],
                                   "log-level":"debug","data-root":"/x"})",
                               "/etc/berth/daemon.json")
               .value();
  EXPECT_TRUE(c.has_mirrors);
  EXPECT_EQ(c.registry_mirrors, std::vector<std::string>{"https://m.example"});
  EXPECT_TRUE(c.has_insecure);
  EXPECT_EQ(c.insecure_registries, (std::vector<std::string>{"10.0.0.0/8", "reg:5000"}));
  EXPECT_EQ(c.unused_keys, (std::vector<std::string>{"data-root", "log-level"}));
  auto empty = parse_daemon_config("{}", "f").value();
  EXPECT_FALSE(empty.has_mirrors);
  EXPECT_FALSE(empty.has_insecure);
}

TEST(DaemonConfig, MalformedFilesNameTheProblem) {
  auto syntax = parse_daemon_config(R"({"registry-mirrors": [)", "/etc/d.json");
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().code, Errc::invalid_argument);
  EXPECT_NE(syntax.error().message.find("/etc/d.json"), std::string::npos) << syntax.error().message;
  auto not_object = parse_daemon_config("[1]", "/etc/d.json");
  ASSERT_FALSE(not_object);
  EXPECT_NE(not_object.error().message.find("expected"), std::string::npos) << not_object.error().message;
  auto wrong_type = parse_daemon_config(R"({"insecure-registries":"10.0.0.0/8"})", "/etc/d.json");
  ASSERT_FALSE(wrong_type);
  EXPECT_NE(wrong_type.error().message.find("insecure-registries"), std::string::npos) << wrong_type.error().message;
  auto wrong_item = parse_daemon_config(R"({"registry-mirrors":["https://a",3]})", "/etc/d.json");
  ASSERT_FALSE(wrong_item);
  EXPECT_NE(wrong_item.error().message.find("registry-mirrors[1]"), std::string::npos) << wrong_item.error().message;
}

TEST(DaemonConfig, LoadsFromDiskOptionally) {
  std::string dir = berth::test::make_temp_dir("berth-dcfg");
  EXPECT_TRUE(load_daemon_config(dir + "/daemon.json", false)) << "no default file: no settings";
  auto missing = load_daemon_config(dir + "/daemon.json", true);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("unable to configure the daemon with file " + dir + "/daemon.json"), std::string::npos);
  ASSERT_TRUE(fs::write_file_atomic(dir + "/daemon.json", R"({"insecure-registries":["a.example:5000"]})", 0600));
  auto c = load_daemon_config(dir + "/daemon.json", false).value();
  EXPECT_EQ(c.insecure_registries, std::vector<std::string>{"a.example:5000"});
  berth::test::remove_tree(dir);
}

TEST(DaemonConfig, MergesWithFlagsAsDockerd) {
  image::RegistryConfig flags;
  flags.mirrors = {"https://flag.example"};
  DaemonConfig file;
  file.has_insecure = true;
  file.insecure_registries = {"192.168.0.0/16", "http://reg.example:5000"};
  auto merged = merge_registry_config(flags, file).value();
  EXPECT_EQ(merged.mirrors, std::vector<std::string>{"https://flag.example/"});
  EXPECT_EQ(merged.insecure_registries, file.insecure_registries);

  file.has_mirrors = true;
  file.registry_mirrors = {"https://file.example"};
  auto both = merge_registry_config(flags, file);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().message,
            "the following directives are specified both as a flag and in the configuration file: "
            "registry-mirrors: (from flag: [https://flag.example], from file: [https://file.example])");

  DaemonConfig bad_mirror;
  bad_mirror.has_mirrors = true;
  bad_mirror.registry_mirrors = {"mirror.example"};
  EXPECT_FALSE(merge_registry_config({}, bad_mirror));
  DaemonConfig bad_insecure;
  bad_insecure.has_insecure = true;
  bad_insecure.insecure_registries = {"10.0.0.0/40"};
  auto e = merge_registry_config({}, bad_insecure);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::invalid_argument);
}

TEST(DaemonConfig, InfoShowsIndexConfigsCidrsAndMirrors) {
  image::RegistryConfig c;
  c.mirrors = {"https://m.example/"};
  c.insecure_registries = {"reg:5000", "10.0.0.0/8"};
  Json j = registry_info_json(c);
  EXPECT_EQ(j["InsecureRegistryCIDRs"], Json({"10.0.0.0/8", "127.0.0.0/8"}));
  EXPECT_EQ(j["Mirrors"], Json({"https://m.example/"}));
  EXPECT_EQ(j["IndexConfigs"]["docker.io"],
            Json({{"Name", "docker.io"}, {"Mirrors", {"https://m.example/"}}, {"Secure", true}, {"Official", true}}));
  EXPECT_EQ(j["IndexConfigs"]["reg:5000"]["Secure"], false);
  EXPECT_EQ(j["IndexConfigs"]["reg:5000"]["Mirrors"], Json::array());
  EXPECT_EQ(registry_info_json({})["InsecureRegistryCIDRs"], Json({"127.0.0.0/8"}));
}

}  // namespace
}  // namespace berth::agent
