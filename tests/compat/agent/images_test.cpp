// The docker CLI's image commands against berth-agent --native, with a real registry
// (Debian's docker-registry) on 127.0.0.1 holding busybox-static test images pushed by
// skopeo: pull, history, tag, rmi, save/load, image prune, system df, distribution, and the
// daemon configuration (a registry mirror for docker.io, insecure registries by CIDR).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "agent_fixture.h"
#include "registry_process.h"

namespace berth::test {
namespace {

constexpr const char* kBlue = "berth.test/blue:1";  // same layer as kImage, its own id (a label)

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// The first global IPv4 address of this machine ("" if none): a registry there is not on
// loopback, so only configuration makes it insecure.
std::string global_ipv4() {
  auto r = sh("ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -n1");
  return trim(r.out);
}

std::string skopeo_push(const std::string& archive, const std::string& dest) {
  auto r = run({"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false", "docker-archive:" + archive, "docker://" + dest},
               "", 120);
  return r.status == 0 ? "" : "skopeo copy to " + dest + " failed: " + r.err;
}

class ImagesTest : public AgentTest {
 protected:
  static void SetUpTestSuite() {
    if (!is_root()) return AgentTest::SetUpTestSuite();  // it says why it skips
    for (const char* tool : {"/usr/bin/docker-registry", "/usr/bin/skopeo"})
      if (::access(tool, X_OK) != 0) {
        skip_reason_ = std::string(tool) + " is not installed";
        return;
      }
    work_ = make_temp_dir("bai");
    for (auto [tar, ref, label] : {std::tuple{"bb.tar", kImage, ""}, std::tuple{"blue.tar", kBlue, "blue"}}) {
      auto img = sh(std::string(BERTH_MAKE_IMAGE) + " " + work_ + "/" + tar + " " + ref + " " + label);
      if (img.status != 0) {
        skip_reason_ = "cannot build the busybox test image: " + img.err;
        return;
      }
    }
    registry_ = std::make_unique<RegistryProcess>();
    if (auto err = registry_->start(work_ + "/registry"); !err.empty()) {
      skip_reason_ = err;
      return;
    }
    // library/busybox serves as docker.io's busybox through the mirror setting.
    for (auto [tar, dest] : {std::pair{"bb.tar", "library/busybox:latest"}, std::pair{"bb.tar", "berth/busybox:1"},
                             std::pair{"blue.tar", "berth/blue:1"}})
      if (auto err = skopeo_push(work_ + "/" + tar, registry_->host() + "/" + dest); !err.empty()) {
        skip_reason_ = err;
        return;
      }
    Json config = {{"registry-mirrors", {"http://" + registry_->host()}}};
    if (std::string ip = global_ipv4(); !ip.empty()) {
      remote_ = std::make_unique<RegistryProcess>();
      if (remote_->start(work_ + "/remote", "", ip).empty() &&
          skopeo_push(work_ + "/blue.tar", remote_->host() + "/berth/blue:1").empty())
        config["insecure-registries"] = {ip + "/32"};
      else
        remote_.reset();
    }
    write_file(work_ + "/daemon.json", config.dump());
    extra_args_ = {"--config-file", work_ + "/daemon.json"};
    AgentTest::SetUpTestSuite();
  }

  static void TearDownTestSuite() {
    AgentTest::TearDownTestSuite();
    registry_.reset();
    remote_.reset();
    if (!work_.empty()) remove_tree(work_);
  }

  void SetUp() override {
    AgentTest::SetUp();
    if (IsSkipped()) return;
    // Tests remove images; each starts with the busybox test image in place.
    if (!has_image(kImage)) {
      ASSERT_EQ(docker({"load", "-i", dir_ + "/busybox.tar"}).status, 0);
    }
  }

  void TearDown() override {
    AgentTest::TearDown();
    // Images too (SetUp reloads the test image), also when several tests share a process.
    if (ready_) docker({"image", "prune", "-af"});
  }

  static bool has_image(const std::string& ref) { return docker({"image", "inspect", ref}).status == 0; }
  static std::string image_id(const std::string& ref) { return trim(docker({"image", "inspect", "-f", "{{.Id}}", ref}).out); }
  static std::string reg(const std::string& path) { return registry_->host() + "/" + path; }
  static void load_blue() { ASSERT_EQ(docker({"load", "-i", work_ + "/blue.tar"}).status, 0); }

  static std::string work_;
  static std::unique_ptr<RegistryProcess> registry_;
  static std::unique_ptr<RegistryProcess> remote_;  // on a non-loopback address; null if none
};

std::string ImagesTest::work_;
std::unique_ptr<RegistryProcess> ImagesTest::registry_;
std::unique_ptr<RegistryProcess> ImagesTest::remote_;

TEST_F(ImagesTest, PullHistoryTagAndRmi) {
  int64_t since = ::time(nullptr);
  auto pull = docker({"pull", reg("berth/blue:1")}, "", 120);
  ASSERT_EQ(pull.status, 0) << pull.err;
  EXPECT_TRUE(contains(pull.out, "Status: Downloaded newer image for " + reg("berth/blue:1"))) << pull.out;
  std::string id = image_id(reg("berth/blue:1"));
  ASSERT_EQ(id.size(), 71u);

  auto hist = docker({"history", "--no-trunc", "--format", "{{.ID}}|{{.CreatedBy}}|{{.Comment}}", reg("berth/blue:1")});
  ASSERT_EQ(hist.status, 0) << hist.err;
  EXPECT_EQ(hist.out, id + "|berth tests/support/make-busybox-image|\n");
  auto hj = http("GET", "/v1.47/images/" + reg("berth/blue:1") + "/history").json();
  ASSERT_EQ(hj.size(), 1u) << hj.dump();
  EXPECT_EQ(hj[0]["Id"], id);
  EXPECT_EQ(hj[0]["Tags"], Json({reg("berth/blue:1")}));
  EXPECT_EQ(hj[0]["Created"], 1577836800);
  EXPECT_GT(hj[0]["Size"].get<int64_t>(), 100000);

  ASSERT_EQ(docker({"tag", reg("berth/blue:1"), "blue-alias"}).status, 0);
  ASSERT_EQ(docker({"tag", id.substr(7, 12), "docker.io/library/blue-alias:2"}).status, 0);
  EXPECT_EQ(image_id("blue-alias:latest"), id);
  EXPECT_EQ(image_id("blue-alias:2"), id);
  auto listed = docker({"images", "--format", "{{.Repository}}:{{.Tag}}", "blue-alias"});
  EXPECT_TRUE(contains(listed.out, "blue-alias:2\n") && contains(listed.out, "blue-alias:latest\n")) << listed.out;

  // Untag while other names remain, then the last name deletes.
  auto untag = docker({"rmi", "blue-alias"});
  EXPECT_EQ(untag.status, 0) << untag.err;
  EXPECT_EQ(untag.out, "Untagged: blue-alias:latest\n");
  EXPECT_EQ(docker({"rmi", "blue-alias:2"}).out, "Untagged: blue-alias:2\n");
  auto del = docker({"rmi", reg("berth/blue:1")});
  EXPECT_EQ(del.status, 0) << del.err;
  EXPECT_TRUE(contains(del.out, "Untagged: " + reg("berth/blue:1") + "\n")) << del.out;
  EXPECT_TRUE(contains(del.out, "Untagged: " + reg("berth/blue@sha256:"))) << del.out;
  EXPECT_TRUE(contains(del.out, "Deleted: " + id + "\n")) << del.out;
  EXPECT_FALSE(has_image(id));
  EXPECT_TRUE(has_image(kImage)) << "the shared layer stays with the image using it";
  EXPECT_EQ(docker({"run", "--rm", kImage, "true"}).status, 0);

  auto events = docker({"events", "--since", std::to_string(since), "--until", std::to_string(::time(nullptr) + 1),
                        "--filter", "type=image", "--format", "{{.Action}} {{.Actor.ID}} {{index .Actor.Attributes \"name\"}}"});
  EXPECT_TRUE(contains(events.out, "pull " + reg("berth/blue:1"))) << events.out;
  EXPECT_TRUE(contains(events.out, "tag " + id + " blue-alias:latest\n")) << events.out;
  EXPECT_TRUE(contains(events.out, "untag " + id + " " + id + "\n")) << events.out;
  EXPECT_TRUE(contains(events.out, "delete " + id + " " + id + "\n")) << events.out;
}

TEST_F(ImagesTest, BadInputIsRefusedAndLosesNothing) {
  auto unknown = docker({"rmi", "nosuch"});
  EXPECT_NE(unknown.status, 0);
  EXPECT_TRUE(contains(unknown.err, "No such image: nosuch:latest")) << unknown.err;
  auto h404 = http("GET", "/images/nosuch/history");
  EXPECT_EQ(h404.status, 404);
  EXPECT_EQ(h404.json()["message"], "No such image: nosuch:latest");
  EXPECT_EQ(http("POST", "/images/nosuch/tag?repo=x&tag=1").status, 404);
  EXPECT_EQ(http("DELETE", "/images/nosuch").status, 404);
  EXPECT_EQ(http("GET", "/images/nosuch/get").status, 404);
  auto bad_repo = http("POST", "/images/" + std::string(kImage) + "/tag?repo=Bad%20Name&tag=1");
  EXPECT_EQ(bad_repo.status, 400) << bad_repo.body;
  EXPECT_TRUE(contains(bad_repo.json()["message"].get<std::string>(), "invalid reference format")) << bad_repo.body;
  auto bad_tag = http("POST", "/images/" + std::string(kImage) + "/tag?repo=ok&tag=bad@@");
  EXPECT_EQ(bad_tag.status, 400);
  EXPECT_EQ(bad_tag.json()["message"], "invalid tag format");
  EXPECT_EQ(http("POST", "/images/" + std::string(kImage) + "/tag?repo=ok@sha256:" + std::string(64, 'a')).status, 400);
  EXPECT_EQ(http("DELETE", "/images/Not%20Valid").status, 400);
  EXPECT_EQ(docker({"tag", kImage, "UPPER"}).status, 1);
  auto prune_filter = http("POST", "/images/prune?filters=%7B%22nonsense%22%3A%7B%22x%22%3Atrue%7D%7D");
  EXPECT_EQ(prune_filter.status, 400) << prune_filter.body;
  auto save_missing = docker({"save", "-o", dir_ + "/never.tar", kImage, "nosuch:1"});
  EXPECT_NE(save_missing.status, 0);
  EXPECT_TRUE(contains(save_missing.err, "No such image: nosuch:1")) << save_missing.err;
  // Nothing was lost or added by the failures.
  auto all = docker({"images", "-a", "--format", "{{.Repository}}:{{.Tag}}"});
  EXPECT_EQ(all.out, std::string(kImage) + "\n");
  EXPECT_EQ(docker({"run", "--rm", kImage, "true"}).status, 0);
}

TEST_F(ImagesTest, RmiConflictsWithContainers) {
  load_blue();
  std::string id = image_id(kBlue);
  ASSERT_EQ(docker({"create", "--name", "user", kBlue, "true"}).status, 0);
  auto refused = docker({"rmi", kBlue});
  EXPECT_NE(refused.status, 0);
  EXPECT_TRUE(contains(refused.err, "conflict: unable to remove repository reference \"" + std::string(kBlue) +
                                        "\" (must force) - container ")) << refused.err;
  auto by_id = docker({"rmi", id.substr(7, 12)});
  EXPECT_NE(by_id.status, 0);
  EXPECT_TRUE(contains(by_id.err, "conflict: unable to delete " + id.substr(7, 12) +
                                      " (must be forced) - image is being used by stopped container ")) << by_id.err;
  EXPECT_TRUE(has_image(kBlue));

  // A running container: even -f only untags, and the id cannot be deleted.
  ASSERT_EQ(docker({"run", "-d", "--name", "runner", kBlue, "sleep", "300"}).status, 0);
  auto forced = docker({"rmi", "-f", kBlue});
  EXPECT_EQ(forced.status, 0) << forced.err;
  EXPECT_EQ(forced.out, "Untagged: " + std::string(kBlue) + "\n");
  EXPECT_TRUE(has_image(id)) << "kept, dangling";
  auto hard = docker({"rmi", "-f", id});
  EXPECT_NE(hard.status, 0);
  EXPECT_TRUE(contains(hard.err, "(cannot be forced) - image is being used by running container ")) << hard.err;
  auto dangling = docker({"images", "-q", "--no-trunc", "-f", "dangling=true"});
  EXPECT_EQ(dangling.out, id + "\n");

  // Only the stopped one left: -f deletes (dockerd does too); the container keeps its rootfs.
  ASSERT_EQ(docker({"rm", "-f", "runner"}).status, 0);
  auto gone = docker({"rmi", "-f", id});
  EXPECT_EQ(gone.status, 0) << gone.err;
  EXPECT_TRUE(contains(gone.out, "Deleted: " + id)) << gone.out;
  EXPECT_FALSE(has_image(id));
  auto start = docker({"start", "-a", "user"});
  EXPECT_EQ(start.status, 0) << start.err;
}

TEST_F(ImagesTest, SaveLoadRoundTrip) {
  load_blue();
  std::string base_id = image_id(kImage), blue_id = image_id(kBlue);
  std::string tar = dir_ + "/saved.tar";
  auto save = docker({"save", "-o", tar, kImage, kBlue}, "", 120);
  ASSERT_EQ(save.status, 0) << save.err;
  auto listing = sh("tar -tf " + tar);
  for (const char* f : {"manifest.json", "repositories", "index.json", "oci-layout", "blobs/sha256/"})
    EXPECT_TRUE(contains(listing.out, f)) << f << " missing:\n" << listing.out;
  auto manifest = Json::parse(sh("tar -xOf " + tar + " manifest.json").out);
  ASSERT_EQ(manifest.size(), 2u);
  auto repos = Json::parse(sh("tar -xOf " + tar + " repositories").out);
  EXPECT_TRUE(repos.contains("berth.test/busybox") && repos["berth.test/busybox"].contains("1")) << repos.dump();

  ASSERT_EQ(docker({"rmi", kImage, kBlue}).status, 0);
  EXPECT_FALSE(has_image(base_id));
  auto load = docker({"load", "-i", tar}, "", 120);
  ASSERT_EQ(load.status, 0) << load.err;
  EXPECT_TRUE(contains(load.out, "Loaded image: " + std::string(kImage))) << load.out;
  EXPECT_TRUE(contains(load.out, "Loaded image: " + std::string(kBlue))) << load.out;
  EXPECT_EQ(image_id(kImage), base_id);
  EXPECT_EQ(image_id(kBlue), blue_id);
  auto run_it = docker({"run", "--rm", kBlue, "echo", "round trip"});
  EXPECT_EQ(run_it.out, "round trip\n") << run_it.err;

  // Streamed to stdout and back in through stdin (docker save | docker load).
  auto piped = sh("docker -H unix://" + socket_ + " save " + kBlue + " | docker -H unix://" + socket_ + " load", 120);
  EXPECT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.out, "Loaded image: " + std::string(kBlue) + "\n");
  // GET /images/{name}/get for a single image.
  auto single = http("GET", "/images/" + std::string(kBlue) + "/get");
  EXPECT_EQ(single.status, 200);
  EXPECT_TRUE(contains(single.headers, "Content-Type: application/x-tar")) << single.headers;
  EXPECT_GT(single.body.size(), 100000u);
}

// The archive berth writes, loaded by a real dockerd (started privately, when installed).
TEST_F(ImagesTest, SavedArchiveLoadsIntoDockerd) {
  if (sh("command -v dockerd").status != 0) GTEST_SKIP() << "dockerd is not installed";
  std::string tar = dir_ + "/for-dockerd.tar";
  ASSERT_EQ(docker({"save", "-o", tar, kImage}).status, 0);
  std::string d = dir_ + "/dockerd";
  sh("mkdir -p " + d);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    int log = ::open((d + "/dockerd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execlp("dockerd", "dockerd", "--data-root", (d + "/data").c_str(), "--exec-root", (d + "/exec").c_str(), "-H",
             ("unix://" + d + "/docker.sock").c_str(), "--pidfile", (d + "/docker.pid").c_str(), "--iptables=false",
             "--ip-forward=false", "--ip-masq=false", "--bridge=none", "--containerd-namespace", "berth-compat",
             "--containerd-plugins-namespace", "berth-compat-plugins", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto other = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"docker", "-H", "unix://" + d + "/docker.sock"});
    return run(args, "", 120);
  };
  bool up = eventually([&] { return other({"version"}).status == 0; }, 60000);
  std::string loaded, id;
  if (up) {
    auto l = other({"load", "-i", tar});
    loaded = l.out + l.err;
    id = trim(other({"image", "inspect", "-f", "{{.Id}}", kImage}).out);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300 && ::waitpid(pid, &status, WNOHANG) == 0; ++i) ::usleep(100000);
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  sh("grep -o ' " + d + "[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null");
  if (!up) GTEST_SKIP() << "dockerd did not start: " << read_file(d + "/dockerd.log").substr(0, 2000);
  EXPECT_TRUE(contains(loaded, "Loaded image: " + std::string(kImage))) << loaded;
  EXPECT_EQ(id, image_id(kImage));
}

TEST_F(ImagesTest, PruneDanglingThenAllUnused) {
  load_blue();
  std::string blue_id = image_id(kBlue);
  // Moving the only tag away leaves the image dangling.
  ASSERT_EQ(docker({"tag", kImage, kBlue}).status, 0);
  EXPECT_EQ(docker({"images", "-q", "--no-trunc", "-f", "dangling=true"}).out, blue_id + "\n");
  auto dangling = docker({"image", "prune", "-f"});
  EXPECT_EQ(dangling.status, 0) << dangling.err;
  EXPECT_TRUE(contains(dangling.out, "Deleted Images:\ndeleted: " + blue_id + "\n")) << dangling.out;
  EXPECT_TRUE(contains(dangling.out, "Total reclaimed space:")) << dangling.out;
  EXPECT_FALSE(has_image(blue_id));
  EXPECT_TRUE(has_image(kImage));
  auto nothing = http("POST", "/images/prune");
  EXPECT_EQ(nothing.json(), Json({{"ImagesDeleted", nullptr}, {"SpaceReclaimed", 0}})) << nothing.body;

  // -a: every image no container uses; a label filter narrows it.
  load_blue();
  ASSERT_EQ(docker({"create", kImage, "true"}).status, 0);
  auto labelled = docker({"image", "prune", "-af", "--filter", "label=berth.test=other"});
  EXPECT_EQ(labelled.out, "Total reclaimed space: 0B\n") << labelled.out;
  auto all = docker({"image", "prune", "-af"});
  EXPECT_EQ(all.status, 0) << all.err;
  EXPECT_TRUE(contains(all.out, "untagged: " + std::string(kBlue) + "\n")) << all.out;
  EXPECT_TRUE(contains(all.out, "deleted: " + blue_id + "\n")) << all.out;
  EXPECT_TRUE(has_image(kImage)) << "a container uses it";
  EXPECT_EQ(docker({"images", "-q"}).out.size(), 13u);
}

TEST_F(ImagesTest, SystemDf) {
  ASSERT_EQ(docker({"create", "--name", "dfuser", "-v", "dfvol:/data", kImage, "sh", "-c", "echo x > /file"}).status, 0);
  ASSERT_EQ(docker({"start", "-a", "dfuser"}).status, 0);
  auto df = docker({"system", "df"});
  ASSERT_EQ(df.status, 0) << df.err;
  EXPECT_TRUE(contains(df.out, "TYPE")) << df.out;
  for (const char* row : {"Images          1         1", "Containers      1         0", "Local Volumes   1         1", "Build Cache     0         0"})
    EXPECT_TRUE(contains(df.out, row)) << row << " in\n" << df.out;
  auto v = docker({"system", "df", "-v"});
  ASSERT_EQ(v.status, 0) << v.err;
  EXPECT_TRUE(contains(v.out, "Images space usage:")) << v.out;
  EXPECT_TRUE(contains(v.out, "berth.test/busybox")) << v.out;
  EXPECT_TRUE(contains(v.out, "dfvol")) << v.out;
  EXPECT_TRUE(contains(v.out, "dfuser")) << v.out;

  auto j = http("GET", "/v1.47/system/df").json();
  EXPECT_GT(j["LayersSize"].get<int64_t>(), 100000) << j.dump();
  ASSERT_EQ(j["Images"].size(), 1u);
  EXPECT_EQ(j["Images"][0]["Containers"], 1);
  EXPECT_EQ(j["Images"][0]["SharedSize"], 0);
  EXPECT_EQ(j["Images"][0]["RepoTags"], Json({kImage}));
  ASSERT_EQ(j["Containers"].size(), 1u);
  EXPECT_GT(j["Containers"][0]["SizeRw"].get<int64_t>(), 0) << "the written /file";
  EXPECT_GT(j["Containers"][0]["SizeRootFs"].get<int64_t>(), j["Images"][0]["Size"].get<int64_t>());
  ASSERT_EQ(j["Volumes"].size(), 1u);
  EXPECT_EQ(j["Volumes"][0]["UsageData"]["RefCount"], 1);
  EXPECT_EQ(j["BuildCache"], Json::array());
  auto only = http("GET", "/v1.47/system/df?type=volume").json();
  EXPECT_FALSE(only.contains("Images"));
  EXPECT_EQ(only["Volumes"].size(), 1u);
  EXPECT_EQ(http("GET", "/v1.47/system/df?type=bogus").status, 400);
}

TEST_F(ImagesTest, DistributionInspect) {
  auto r = http("GET", "/v1.47/distribution/" + reg("berth/busybox:1") + "/json");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = r.json();
  auto raw = run({"skopeo", "--insecure-policy", "inspect", "--tls-verify=false", "--raw", "docker://" + reg("berth/busybox:1")});
  ASSERT_EQ(raw.status, 0) << raw.err;
  write_file(dir_ + "/manifest.raw", raw.out);
  auto digest = trim(sh("sha256sum " + dir_ + "/manifest.raw | cut -d' ' -f1").out);
  EXPECT_EQ(j["Descriptor"]["digest"], "sha256:" + digest);
  EXPECT_EQ(j["Descriptor"]["size"], static_cast<int64_t>(raw.out.size()));
  EXPECT_EQ(j["Descriptor"]["mediaType"], Json::parse(raw.out)["mediaType"]);
  EXPECT_EQ(j["Platforms"], Json::parse(R"([{"architecture":"amd64","os":"linux"}])"));
  EXPECT_FALSE(has_image(reg("berth/busybox:1"))) << "nothing pulled";
  // The pull that follows records the same digest.
  ASSERT_EQ(docker({"pull", reg("berth/busybox:1")}, "", 120).status, 0);
  auto digests = trim(docker({"image", "inspect", "-f", "{{json .RepoDigests}}", reg("berth/busybox:1")}).out);
  EXPECT_TRUE(contains(digests, reg("berth/busybox@sha256:" + digest))) << digests;

  auto missing = http("GET", "/distribution/" + reg("berth/busybox:nope") + "/json");
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(http("GET", "/distribution/Bad%20Ref/json").status, 400);
}

TEST_F(ImagesTest, MirrorAndInsecureRegistryConfiguration) {
  auto info = http("GET", "/v1.47/info").json()["RegistryConfig"];
  std::string mirror = "http://" + registry_->host() + "/";
  EXPECT_EQ(info["Mirrors"], Json({mirror})) << info.dump();
  EXPECT_EQ(info["IndexConfigs"]["docker.io"]["Mirrors"], Json({mirror}));
  auto cli = docker({"info", "--format", "{{json .RegistryConfig.Mirrors}}"});
  EXPECT_EQ(trim(cli.out), Json({mirror}).dump());

  // docker.io/library/busybox resolves through the mirror (there is no internet here).
  auto pull = docker({"pull", "busybox"}, "", 120);
  ASSERT_EQ(pull.status, 0) << pull.err << pull.out;
  EXPECT_TRUE(contains(pull.out, "Status: Downloaded newer image for busybox:latest")) << pull.out;
  EXPECT_EQ(image_id("busybox"), image_id(kImage));
  EXPECT_EQ(docker({"run", "--rm", "busybox", "echo", "via mirror"}).out, "via mirror\n");

  if (!remote_) GTEST_SKIP() << "no global IPv4 address for a non-loopback registry";
  std::string ip = remote_->host().substr(0, remote_->host().find(':'));
  EXPECT_EQ(info["InsecureRegistryCIDRs"], Json({ip + "/32", "127.0.0.0/8"})) << info.dump();
  // A plain-HTTP registry outside loopback: reachable because the CIDR makes it insecure...
  auto insecure = docker({"pull", remote_->host() + "/berth/blue:1"}, "", 120);
  EXPECT_EQ(insecure.status, 0) << insecure.err;
  // ...and refused without that setting (the agent restarted without its config file).
  stop_agent(SIGTERM);
  extra_args_.clear();
  ASSERT_TRUE(start_agent()) << agent_log();
  auto secure = docker({"pull", remote_->host() + "/berth/blue:1"}, "", 120);
  EXPECT_NE(secure.status, 0);
  EXPECT_TRUE(contains(secure.err, "https://" + remote_->host())) << secure.err;
  EXPECT_EQ(http("GET", "/info").json()["RegistryConfig"]["InsecureRegistryCIDRs"], Json({"127.0.0.0/8"}));
}

}  // namespace
}  // namespace berth::test
