#include <gtest/gtest.h>

#include <filesystem>

#include "image/image_config.h"
#include "image/safe_fs.h"
#include "test_support.h"

namespace berth::agent::image {
namespace {

const char* kConfig = R"({
  "architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05.5Z",
  "config": {
    "User": "app:staff", "Env": ["PATH=/usr/bin:/bin", "LANG=C"], "Entrypoint": ["/entry"], "Cmd": ["serve", "--x"],
    "WorkingDir": "/srv", "StopSignal": "SIGQUIT", "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
    "Volumes": {"/data": {}}, "Labels": {"a": "b"},
    "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 30000000000, "Retries": 3}
  },
  "rootfs": {"type": "layers", "diff_ids": ["sha256:1111111111111111111111111111111111111111111111111111111111111111"]},
  "history": [{"created_by": "ADD rootfs"}, {"created_by": "ENV LANG=C", "empty_layer": true}]
})";

TEST(ImageConfig, ParsesWhatTheRuntimeNeeds) {
  auto c = parse_image_config(kConfig);
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->user, "app:staff");
  EXPECT_EQ(c->env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "LANG=C"}));
  EXPECT_EQ(c->entrypoint, std::vector<std::string>{"/entry"});
  EXPECT_EQ(c->cmd, (std::vector<std::string>{"serve", "--x"}));
  EXPECT_EQ(c->working_dir, "/srv");
  EXPECT_EQ(c->stop_signal, "SIGQUIT");
  EXPECT_EQ(c->exposed_ports, (std::vector<std::string>{"53/udp", "8080/tcp"}));
  EXPECT_EQ(c->volumes, std::vector<std::string>{"/data"});
  EXPECT_EQ(c->labels.at("a"), "b");
  ASSERT_TRUE(c->healthcheck);
  EXPECT_EQ(c->healthcheck->test, (std::vector<std::string>{"CMD-SHELL", "true"}));
  EXPECT_EQ(c->healthcheck->interval_ns, 30000000000);
  EXPECT_EQ(c->healthcheck->retries, 3);
  EXPECT_EQ(c->diff_ids.size(), 1u);
  ASSERT_EQ(c->history.size(), 2u);
  EXPECT_TRUE(c->history[1].empty_layer);
  EXPECT_EQ(c->raw["config"]["Labels"]["a"], "b");
}

TEST(ImageConfig, ErrorsNameTheField) {
  auto c = parse_image_config(R"({"config":{"Env":["A=1", 2]},"rootfs":{"type":"layers","diff_ids":[]}})");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("config.Env[1]"), std::string::npos) << c.error().message;
  auto r = parse_image_config(R"({"rootfs":{"type":"tarball"}})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("rootfs.type"), std::string::npos);
}

TEST(ImageConfig, ArgsAndEnvFollowDockerRules) {
  auto c = parse_image_config(kConfig).value();
  EXPECT_EQ(process_args(c, std::nullopt, std::nullopt), (std::vector<std::string>{"/entry", "serve", "--x"}));
  EXPECT_EQ(process_args(c, std::nullopt, std::vector<std::string>{"other"}), (std::vector<std::string>{"/entry", "other"}));
  EXPECT_EQ(process_args(c, std::vector<std::string>{"/bin/sh"}, std::nullopt), std::vector<std::string>{"/bin/sh"});
  EXPECT_EQ(process_args(c, std::vector<std::string>{}, std::vector<std::string>{"ls"}), std::vector<std::string>{"ls"});
  EXPECT_EQ(merge_env(c.env, {"LANG=en_US.UTF-8", "NEW=1"}),
            (std::vector<std::string>{"PATH=/usr/bin:/bin", "LANG=en_US.UTF-8", "NEW=1"}));
}

const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# comment\n"
    "broken line\n"
    "app:x:1000:1001:App:/home/app:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
const char* kGroup =
    "root:x:0:\n"
    "staff:x:50:app\n"
    "app:x:1001:\n"
    "wheel:x:10:root,app\n";

TEST(ImageConfig, ResolvesUsersLikeRunc) {
  auto root = resolve_user_from("", kPasswd, kGroup).value();
  EXPECT_EQ(root.uid, 0u);
  EXPECT_EQ(root.gid, 0u);
  EXPECT_EQ(root.home, "/root");
  EXPECT_EQ(root.additional_gids, std::vector<uint32_t>{10});

  auto app = resolve_user_from("app", kPasswd, kGroup).value();
  EXPECT_EQ(app.uid, 1000u);
  EXPECT_EQ(app.gid, 1001u);
  EXPECT_EQ(app.home, "/home/app");
  EXPECT_EQ(app.additional_gids, (std::vector<uint32_t>{50, 10}));

  auto by_uid = resolve_user_from("1000", kPasswd, kGroup).value();
  EXPECT_EQ(by_uid.name, "app");
  EXPECT_EQ(by_uid.gid, 1001u);

  auto app_staff = resolve_user_from("app:staff", kPasswd, kGroup).value();
  EXPECT_EQ(app_staff.gid, 50u);
  EXPECT_TRUE(app_staff.additional_gids.empty()) << "explicit group: no supplementary groups";

  auto numeric = resolve_user_from("4242:4343", kPasswd, kGroup).value();
  EXPECT_EQ(numeric.uid, 4242u);
  EXPECT_EQ(numeric.gid, 4343u);
  EXPECT_EQ(numeric.home, "/");

  auto numeric_only = resolve_user_from("777", "", "").value();
  EXPECT_EQ(numeric_only.uid, 777u);
  EXPECT_EQ(numeric_only.gid, 0u);

  auto missing = resolve_user_from("ghost", kPasswd, kGroup);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::invalid_argument);
  EXPECT_NE(missing.error().message.find("unable to find user ghost"), std::string::npos);
  auto missing_group = resolve_user_from("app:ghosts", kPasswd, kGroup);
  ASSERT_FALSE(missing_group);
  EXPECT_NE(missing_group.error().message.find("unable to find group ghosts"), std::string::npos);
  EXPECT_FALSE(resolve_user_from("99999999999", kPasswd, kGroup));
}

TEST(ImageConfig, ReadsAccountsInsideTheRootfsOnly) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "rootfs/etc");
  std::filesystem::create_directories(dir / "host");
  testing::write_file(dir / "host/passwd", "root:x:0:0::/root:/bin/sh\nhostonly:x:4444:4444::/h:/bin/sh\n");
  testing::write_file(dir / "rootfs/etc/group", kGroup);
  auto rootfd = safefs::open_dir_path(dir / "rootfs").value();

  // An absolute symlink resolves inside the rootfs, not on the host.
  std::filesystem::create_symlink(dir / "host/passwd", dir / "rootfs/etc/passwd");
  EXPECT_FALSE(resolve_user(rootfd.get(), "hostonly"));
  std::filesystem::remove(dir / "rootfs/etc/passwd");
  std::filesystem::create_symlink("../../host/passwd", dir / "rootfs/etc/passwd");
  EXPECT_FALSE(resolve_user(rootfd.get(), "hostonly"));
  std::filesystem::remove(dir / "rootfs/etc/passwd");

  testing::write_file(dir / "rootfs/etc/passwd", kPasswd);
  auto app = resolve_user(rootfd.get(), "app");
  ASSERT_TRUE(app) << app.error().what();
  EXPECT_EQ(app->uid, 1000u);
  std::filesystem::remove(dir / "rootfs/etc/passwd");
  ASSERT_EQ(::mkfifo((dir / "rootfs/etc/passwd").c_str(), 0644), 0);
  auto fifo = resolve_user(rootfd.get(), "app");
  ASSERT_FALSE(fifo);
  EXPECT_NE(fifo.error().message.find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace berth::agent::image
