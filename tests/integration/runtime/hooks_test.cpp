// All six hook kinds: when they run, in which namespace, with the state on stdin, and timeouts.
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "fixture.h"

namespace berth::test {
namespace {

using HooksTest = RuntimeTest;

// A hook script that records its name, the hostname it sees and the state JSON it was given.
std::string hook_script(const std::string& log) {
  return "#!/bin/sh\n"
         "state=$(cat)\n"
         "echo \"$1 host=$(hostname) state=$state\" >> " + log + "\n";
}

TEST_F(HooksTest, AllKindsRunInOrderWithState) {
  std::string log = dir_ + "/hooks.log";
  std::string hook = dir_ + "/hook.sh";
  write_file(hook, hook_script(log), 0755);
  auto spec = base_spec({"sh", "-c", "echo container-ran >> /hooklog/hooks.log"});
  spec["mounts"].push_back({{"destination", "/hooklog"}, {"type", "bind"}, {"source", dir_}, {"options", {"bind"}}});
  // createContainer runs in the container's namespaces but before pivot_root, so host paths
  // (like the hook and /bin/sh) still resolve; startContainer runs inside the container's root.
  std::string in_container = "/hooklog/hook-in.sh";
  write_file(dir_ + "/hook-in.sh", "#!/bin/sh\nstate=$(cat)\necho \"$1 host=$(hostname) state=$state\" >> /hooklog/hooks.log\n", 0755);
  auto h = [&](const std::string& name) { return Json{{"path", hook}, {"args", {"hook.sh", name}}}; };
  spec["hooks"] = {{"prestart", {h("prestart")}},
                   {"createRuntime", {h("createRuntime")}},
                   {"createContainer", {h("createContainer")}},
                   {"startContainer", {{{"path", in_container}, {"args", {"hook-in.sh", "startContainer"}}}}},
                   {"poststart", {h("poststart")}},
                   {"poststop", {h("poststop")}}};
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  auto text = read_file(log);
  std::vector<std::string> order;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) order.push_back(line.substr(0, line.find(' ')));
  std::vector<std::string> want = {"prestart", "createRuntime", "createContainer", "startContainer", "container-ran", "poststop"};
  // poststart runs after start returns, racing the container's own output; check it separately.
  std::vector<std::string> without_poststart;
  for (auto& o : order)
    if (o != "poststart") without_poststart.push_back(o);
  EXPECT_EQ(without_poststart, want) << text;
  EXPECT_NE(text.find("poststart"), std::string::npos) << text;
  // Runtime-namespace hooks see the host's hostname; container-namespace ones the container's.
  char host[256] = {};
  ::gethostname(host, sizeof host);
  EXPECT_NE(text.find(std::string("createRuntime host=") + host), std::string::npos) << text;
  EXPECT_NE(text.find("createContainer host=berth-test"), std::string::npos) << text;
  EXPECT_NE(text.find("startContainer host=berth-test"), std::string::npos) << text;
  // Each got the state JSON with the container's pid and bundle.
  EXPECT_NE(text.find("\"bundle\":\"" + bundle_ + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"status\":\"stopped\""), std::string::npos) << "poststop sees a stopped container: " << text;
}

TEST_F(HooksTest, FailingCreateRuntimeHookAbortsCreate) {
  std::string hook = dir_ + "/fail.sh";
  write_file(hook, "#!/bin/sh\nexit 3\n", 0755);
  auto spec = base_spec({"true"});
  spec["hooks"] = {{"createRuntime", {{{"path", hook}}}}};
  write_spec(spec);
  std::string id = unique_id("hookfail");
  auto r = rt({"create", "--bundle", bundle_, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("createRuntime"), std::string::npos) << r.err;
  EXPECT_FALSE(path_exists(state_root_ + "/" + id));
}

TEST_F(HooksTest, HookTimeoutKillsTheHook) {
  std::string hook = dir_ + "/slow.sh";
  write_file(hook, "#!/bin/sh\nsleep 30\n", 0755);
  auto spec = base_spec({"true"});
  spec["hooks"] = {{"prestart", {{{"path", hook}, {"timeout", 1}}}}};
  write_spec(spec);
  auto r = rt({"create", "--bundle", bundle_, unique_id("hookslow")}, "", 20);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
}

TEST_F(HooksTest, FailingPoststartHookOnlyWarns) {
  std::string hook = dir_ + "/fail.sh";
  write_file(hook, "#!/bin/sh\nexit 1\n", 0755);
  auto spec = base_spec({"sh", "-c", "echo still-ran"});
  spec["hooks"] = {{"poststart", {{{"path", hook}}}}};
  auto r = run_spec(spec);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "still-ran\n");
}

}  // namespace
}  // namespace berth::test
