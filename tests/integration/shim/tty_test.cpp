// TTY containers: the pty master arrives on the console socket; output is raw and logged as
// stdout; resize sets the terminal size the container sees.
#include "shim_fixture.h"

namespace berth::test {
namespace {

TEST_F(ShimTest, TtyRawStreamAndResize) {
  auto l = launch(base_spec({"sh", "-c", "read go; stty size; echo err-on-tty >&2"}, true), {"--tty", "--stdin", "--stdin-once"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto a = connect(l);
  Json ans = a.request({{"op", "attach"}, {"stdin", true}});
  ASSERT_TRUE(ans["ok"]) << ans.dump();
  EXPECT_EQ(ans["tty"], true);
  EXPECT_EQ(ans["stream"], "raw");

  auto c = connect(l);
  Json r = c.request({{"op", "resize"}, {"width", 123}, {"height", 45}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  ASSERT_TRUE(c.send("{\"op\":\"wait\"}\n"));
  ASSERT_TRUE(a.send("go\n"));
  std::string out = a.read_all();
  EXPECT_NE(out.find("45 123"), std::string::npos) << out;
  EXPECT_NE(out.find("err-on-tty"), std::string::npos) << out;
  EXPECT_EQ(Json::parse(c.read_line())["exit_code"], 0);

  // With a terminal everything is logged as stdout, with the terminal's \r\n.
  EXPECT_TRUE(wait_shim_gone(l.shim_pid));
  std::string log = read_file(l.state_dir + "/container.log");
  EXPECT_NE(log.find("45 123\\r\\n"), std::string::npos) << log;
  EXPECT_EQ(log.find("stderr"), std::string::npos) << log;
}

TEST_F(ShimTest, ResizeWithoutTerminalIsRefused) {
  auto l = launch(base_spec({"sleep", "1000"}));
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto c = connect(l);
  Json r = c.request({{"op", "resize"}, {"width", 80}, {"height", 24}});
  EXPECT_FALSE(r["ok"]);
  EXPECT_EQ(r["code"], "invalid_argument");
  EXPECT_TRUE(c.request({{"op", "signal"}, {"signal", 9}})["ok"]);
}

}  // namespace
}  // namespace berth::test
