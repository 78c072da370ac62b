// The agent may die and come back: the shim is not its child, keeps the container, its log and
// its stdin, and a new connection can attach and wait.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim_fixture.h"

namespace berth::test {
namespace {

auto has_out(const std::string& text) {
  return [text](const std::string& wire) { return demux(wire).out.find(text) != std::string::npos; };
}

TEST_F(ShimTest, SurvivesTheAgentAndServesItsSuccessor) {
  auto l = launch(base_spec({"cat"}), {"--stdin"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;

  // An "agent" process attaches, talks, and is killed mid-stream.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t agent = ::fork();
  if (agent == 0) {
    ::close(ready[0]);
    ShimClient c(l.state_dir + "/shim.sock");
    Json a = c.request({{"op", "attach"}, {"stdin", true}});
    c.send("before the crash\n");
    std::string got = c.read_until(has_out("before the crash\n"));
    char ok = (a["ok"] == true && demux(got).out == "before the crash\n") ? 'y' : 'n';
    (void)!::write(ready[1], &ok, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(ok, 'y');
  ::kill(agent, SIGKILL);
  ::waitpid(agent, nullptr, 0);

  // The shim and the container carry on.
  ::usleep(100 * 1000);
  EXPECT_EQ(::kill(l.shim_pid, 0), 0);
  ASSERT_TRUE(path_exists(l.state_dir + "/shim.sock"));
  auto c = connect(l);
  Json st = c.request({{"op", "state"}});
  EXPECT_EQ(st["status"], "running");
  EXPECT_EQ(st["pid"], l.pid);

  auto a = connect(l);
  ASSERT_TRUE(a.request({{"op", "attach"}, {"stdin", true}})["ok"]);
  auto waiter = connect(l);
  ASSERT_TRUE(waiter.send("{\"op\":\"wait\"}\n"));
  ASSERT_TRUE(a.send("after the crash\n"));
  EXPECT_EQ(demux(a.read_until(has_out("after the crash\n"))).out, "after the crash\n");

  // This connection also dies (closed without a word); a third one ends the container.
  a.close();
  waiter.close();
  auto last = connect(l);
  auto w2 = connect(l);
  ASSERT_TRUE(w2.send("{\"op\":\"wait\"}\n"));
  ASSERT_TRUE(last.request({{"op", "close_stdin"}})["ok"]);
  Json w = Json::parse(w2.read_line());
  EXPECT_EQ(w["exit_code"], 0);
  EXPECT_TRUE(wait_shim_gone(l.shim_pid));
  std::string log = read_file(l.state_dir + "/container.log");
  EXPECT_NE(log.find("before the crash"), std::string::npos);
  EXPECT_NE(log.find("after the crash"), std::string::npos);
  EXPECT_EQ(Json::parse(read_file(l.state_dir + "/exit.json"))["exit_code"], 0);
}

}  // namespace
}  // namespace berth::test
