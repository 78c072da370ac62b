// POST /containers/create bodies: wrong types are errors naming the field; names, restart
// policies and mounts are checked; and, through a real image store in a temp dir (copied
// rootfs, no root needed), duplicates, missing images and bad binds leave nothing behind.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>

#include "berth/common/fs.h"
#include "busybox_rootfs.h"
#include "core/container_config.h"
#include "core/container_manager.h"
#include "core/ids.h"
#include "process.h"

namespace berth::agent {
namespace {

Json body(const std::string& text) { return Json::parse(text); }

TEST(CreateRequest, WrongTypesNameTheField) {
  auto e1 = parse_host_config(body(R"({"Memory":"lots"})"));
  ASSERT_FALSE(e1);
  EXPECT_EQ(e1.error().code, Errc::invalid_argument);
  EXPECT_EQ(e1.error().message, "HostConfig.Memory: expected integer, got string");
  auto e2 = parse_container_config(body(R"({"Env":"A=1"})"));
  ASSERT_FALSE(e2);
  EXPECT_EQ(e2.error().message, "Env: expected array of strings, got string");
  auto e3 = parse_container_config(body(R"({"Env":["A=1", 5]})"));
  ASSERT_FALSE(e3);
  EXPECT_EQ(e3.error().message, "Env[1]: expected string, got integer");
  auto e4 = parse_host_config(body(R"({"RestartPolicy":{"MaximumRetryCount":"3"}})"));
  ASSERT_FALSE(e4);
  EXPECT_EQ(e4.error().message, "HostConfig.RestartPolicy.MaximumRetryCount: expected integer, got string");
  auto e5 = parse_host_config(body(R"({"Mounts":[{"Type":"bind","ReadOnly":"yes"}]})"));
  ASSERT_FALSE(e5);
  EXPECT_EQ(e5.error().message, "HostConfig.Mounts[0].ReadOnly: expected boolean, got string");
  auto e6 = parse_container_config(body(R"({"Labels":{"a":1}})"));
  ASSERT_FALSE(e6);
  EXPECT_EQ(e6.error().message, "Labels.a: expected string, got integer");
  auto e7 = parse_host_config(body(R"({"Memory":1.5})"));
  ASSERT_FALSE(e7);
  EXPECT_EQ(e7.error().message, "HostConfig.Memory: expected integer, got number");
  auto e8 = parse_host_config(body(R"([1])"));
  ASSERT_FALSE(e8);
}

TEST(CreateRequest, AcceptsDockerCliBody) {
  // What `docker run -it -e A=1 --rm --memory 64m busybox sh` sends (abridged), nulls included.
  auto j = body(R"({"Hostname":"","User":"","AttachStdin":true,"AttachStdout":true,"AttachStderr":true,
    "Tty":true,"OpenStdin":true,"StdinOnce":true,"Env":["A=1"],"Cmd":["sh"],"Image":"busybox","Volumes":{},
    "WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},
    "HostConfig":{"Binds":null,"NetworkMode":"default","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},
    "AutoRemove":true,"ConsoleSize":[24,80],"CapAdd":null,"Memory":67108864,"PidsLimit":null,"Ulimits":[],
    "OomKillDisable":null,"Init":null},"NetworkingConfig":{"EndpointsConfig":{}}})");
  auto c = parse_container_config(j);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->tty);
  EXPECT_EQ(c->cmd, std::vector<std::string>{"sh"});
  EXPECT_FALSE(c->entrypoint);
  auto h = parse_host_config(j["HostConfig"]);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->memory, 67108864);
  EXPECT_TRUE(h->auto_remove);
  EXPECT_EQ(h->console_size, (std::vector<int64_t>{24, 80}));
  EXPECT_FALSE(h->pids_limit);
  // A string Cmd is Docker's StrSlice.
  auto s = parse_container_config(body(R"({"Cmd":"echo hi","Entrypoint":"sh"})"));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s->cmd, std::vector<std::string>{"echo hi"});
  EXPECT_EQ(*s->entrypoint, std::vector<std::string>{"sh"});
}

TEST(CreateRequest, DockerdLimits) {
  EXPECT_FALSE(parse_host_config(body(R"({"Memory":1024})")));  // below 6 MB
  EXPECT_FALSE(parse_host_config(body(R"({"NanoCpus":1000000000,"CpuQuota":50000})")));
  EXPECT_FALSE(parse_host_config(body(R"({"OomScoreAdj":1001})")));
  EXPECT_FALSE(parse_host_config(body(R"({"Ulimits":[{"Name":"nofile","Soft":10,"Hard":5}]})")));
  EXPECT_FALSE(parse_container_config(body(R"({"Env":["=x"]})")));
}

TEST(CreateRequest, ContainerNames) {
  EXPECT_TRUE(valid_container_name("web"));
  EXPECT_TRUE(valid_container_name("/web-1.a_b"));
  EXPECT_FALSE(valid_container_name("a"));
  EXPECT_FALSE(valid_container_name("-web"));
  EXPECT_FALSE(valid_container_name("bad name"));
  EXPECT_FALSE(valid_container_name("a/b"));
  EXPECT_FALSE(valid_container_name(""));
}

TEST(CreateRequest, RestartPolicies) {
  EXPECT_TRUE(validate_restart_policy({"", 0}, false));
  EXPECT_TRUE(validate_restart_policy({"always", 0}, false));
  EXPECT_TRUE(validate_restart_policy({"on-failure", 3}, false));
  EXPECT_FALSE(validate_restart_policy({"always", 3}, false));
  EXPECT_FALSE(validate_restart_policy({"sometimes", 0}, false));
  EXPECT_FALSE(validate_restart_policy({"on-failure", -1}, false));
  auto rm = validate_restart_policy({"always", 0}, true);
  ASSERT_FALSE(rm);
  EXPECT_NE(rm.error().message.find("AutoRemove"), std::string::npos);
}

TEST(CreateRequest, RoundTripsThroughDockerShape) {
  auto h = parse_host_config(body(R"({"Binds":["/a:/b:ro"],"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2},
    "Tmpfs":{"/run":"size=1m"},"PidsLimit":50,"Mounts":[{"Type":"volume","Source":"v","Target":"/v","VolumeOptions":{"NoCopy":true}}]})"));
  ASSERT_TRUE(h);
  auto again = parse_host_config(to_json(*h));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->binds, h->binds);
  EXPECT_EQ(again->restart_policy.name, "on-failure");
  EXPECT_EQ(again->restart_policy.maximum_retry_count, 2);
  EXPECT_EQ(again->tmpfs, h->tmpfs);
  EXPECT_EQ(again->pids_limit, 50);
  ASSERT_EQ(again->mounts.size(), 1u);
  EXPECT_TRUE(again->mounts[0].no_copy);
}

// ContainerManager::create against a real image store (rootfs copied, so no root needed).
class ManagerCreateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::busybox_path().empty()) GTEST_SKIP() << "busybox-static is not installed (needed for the test image)";
    dir_ = test::make_temp_dir("berth-agent-unit");
    auto tar = dir_ + "/busybox.tar";
    auto made = test::sh(std::string(BERTH_MAKE_IMAGE) + " " + tar + " berth.test/busybox:1");
    ASSERT_EQ(made.status, 0) << made.err;
    image::StoreOptions so;
    so.state_root = dir_ + "/state";
    so.rootfs.force_copy = true;
    auto store = image::ImageStore::open(so);
    ASSERT_TRUE(store) << store.error().what();
    images_ = std::move(*store);
    auto fd = fs::open(tar, O_RDONLY | O_CLOEXEC);
    ASSERT_TRUE(fd);
    ASSERT_TRUE(images_->load_fd(fd->get()));
    volumes_ = std::make_unique<VolumeStore>(so.state_root + "/volumes");
    ASSERT_TRUE(volumes_->load());
    ManagerOptions mo;
    mo.state_root = so.state_root;
    mo.runtime_bin = "/bin/false";
    mo.shim_bin = "/bin/false";
    mo.machine = "x86_64";
    mgr_ = std::make_unique<ContainerManager>(mo, *images_, *volumes_, events_);
    ASSERT_TRUE(mgr_->load());
  }
  void TearDown() override {
    mgr_.reset();
    if (!dir_.empty()) test::remove_tree(dir_);
  }
  size_t container_dirs() {
    auto r = test::sh("ls " + dir_ + "/state/containers | wc -l");
    return std::stoul(r.out);
  }

  std::string dir_;
  std::unique_ptr<image::ImageStore> images_;
  std::unique_ptr<VolumeStore> volumes_;
  EventBus events_;
  std::unique_ptr<ContainerManager> mgr_;
};

TEST_F(ManagerCreateTest, CreatesAndRefusesDuplicateNames) {
  auto c1 = mgr_->create("web", body(R"({"Image":"berth.test/busybox:1","Cmd":["sleep","1"],"Labels":{"a":"b"}})"));
  ASSERT_TRUE(c1) << c1.error().what();
  EXPECT_EQ(c1->id.size(), 64u);
  auto got = mgr_->get("web");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "/web");
  EXPECT_EQ(got->path, "sleep");
  EXPECT_EQ(got->args, std::vector<std::string>{"1"});
  EXPECT_EQ(got->state.status, "created");
  EXPECT_EQ(got->config.hostname, c1->id.substr(0, 12));
  EXPECT_EQ(got->config.labels.at("a"), "b");
  // Image env merged in.
  EXPECT_NE(std::find(got->config.env.begin(), got->config.env.end(),
                      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            got->config.env.end());
  EXPECT_TRUE(mgr_->get(c1->id.substr(0, 6)));  // by id prefix
  auto dup = mgr_->create("/web", body(R"({"Image":"berth.test/busybox:1"})"));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::conflict);
  EXPECT_NE(dup.error().message.find("The container name \"/web\" is already in use by container \"" + c1->id + "\""),
            std::string::npos);
  EXPECT_EQ(container_dirs(), 1u);
  // Persisted in Docker's shape.
  auto cfg = test::read_file(dir_ + "/state/containers/" + c1->id + "/config.json");
  auto j = Json::parse(cfg);
  EXPECT_EQ(j["Name"], "/web");
  EXPECT_EQ(j["Config"]["Image"], "berth.test/busybox:1");
  EXPECT_EQ(j["HostConfig"]["RestartPolicy"]["Name"], "no");
}

TEST_F(ManagerCreateTest, BadInputLeavesNothingBehind) {
  auto bad_name = mgr_->create("bad name", body(R"({"Image":"berth.test/busybox:1"})"));
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().code, Errc::invalid_argument);
  EXPECT_EQ(bad_name.error().message, "Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  auto missing = mgr_->create("", body(R"({"Image":"nosuch:latest"})"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(missing.error().message, "No such image: nosuch:latest");
  auto rel = mgr_->create("", body(R"({"Image":"berth.test/busybox:1","HostConfig":{"Binds":["rel/dir:/x"]}})"));
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error().code, Errc::invalid_argument);
  EXPECT_NE(rel.error().message.find("If you intended to pass a host directory, use absolute path"), std::string::npos);
  auto src = mgr_->create("", body(R"({"Image":"berth.test/busybox:1","HostConfig":{"Mounts":[{"Type":"bind","Source":"/nonexistent/berth","Target":"/x"}]}})"));
  ASSERT_FALSE(src);
  EXPECT_EQ(src.error().message, "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent/berth");
  auto types = mgr_->create("", body(R"({"Image":"berth.test/busybox:1","HostConfig":{"CapAdd":"ALL"}})"));
  ASSERT_FALSE(types);
  EXPECT_EQ(types.error().message, "HostConfig.CapAdd: expected array of strings, got string");
  auto cap = mgr_->create("", body(R"({"Image":"berth.test/busybox:1","HostConfig":{"CapAdd":["NOPE"]}})"));
  ASSERT_FALSE(cap);
  EXPECT_NE(cap.error().message.find("unknown capability: \"CAP_NOPE\""), std::string::npos);
  auto net = mgr_->create("", body(R"({"Image":"berth.test/busybox:1","HostConfig":{"NetworkMode":"mynet"}})"));
  ASSERT_FALSE(net);
  EXPECT_EQ(net.error().code, Errc::not_found);
  auto wd = mgr_->create("", body(R"({"Image":"berth.test/busybox:1","WorkingDir":"rel"})"));
  ASSERT_FALSE(wd);
  EXPECT_EQ(container_dirs(), 0u);
  EXPECT_TRUE(volumes_->list().empty());
  EXPECT_TRUE(mgr_->list().empty());
}

TEST_F(ManagerCreateTest, VolumesAndWarnings) {
  auto c = mgr_->create("vv", body(R"({"Image":"berth.test/busybox:1","Volumes":{"/anon":{}},
     "HostConfig":{"Binds":["named:/data"],"NetworkMode":"bridge"}})"));
  ASSERT_TRUE(c) << c.error().what();
  ASSERT_FALSE(c->warnings.empty());
  EXPECT_NE(c->warnings[0].find("bridge"), std::string::npos);
  auto vols = volumes_->list();
  ASSERT_EQ(vols.size(), 2u);
  auto users = mgr_->volume_users("named");
  EXPECT_EQ(users, std::vector<std::string>{c->id});
  ASSERT_TRUE(mgr_->remove("vv", false, true));
  // The anonymous volume went with -v; the named one stays.
  vols = volumes_->list();
  ASSERT_EQ(vols.size(), 1u);
  EXPECT_EQ(vols[0].name, "named");
  EXPECT_EQ(container_dirs(), 0u);
}

}  // namespace
}  // namespace berth::agent
