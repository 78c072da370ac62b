// Attach: several clients at once, multiplexed or raw output, stdin forwarding, stdin-once.
#include "shim_fixture.h"

namespace berth::test {
namespace {

auto has_out(const std::string& text) {
  return [text](const std::string& wire) { return demux(wire).out.find(text) != std::string::npos; };
}

TEST_F(ShimTest, AttachersShareOutputAndStdinReachesCat) {
  auto l = launch(base_spec({"sh", "-c", "cat; echo bye >&2"}), {"--stdin", "--stdin-once"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;

  auto writer = connect(l);
  Json a = writer.request({{"op", "attach"}, {"stdin", true}});
  ASSERT_TRUE(a["ok"]) << a.dump();
  EXPECT_EQ(a["stream"], "multiplexed");
  EXPECT_EQ(a["tty"], false);
  auto watcher = connect(l);
  ASSERT_TRUE(watcher.request({{"op", "attach"}})["ok"]);
  auto raw = connect(l);
  Json r = raw.request({{"op", "attach"}, {"stream", "raw"}, {"stderr", false}});
  ASSERT_TRUE(r["ok"]);
  EXPECT_EQ(r["stream"], "raw");

  ASSERT_TRUE(writer.send("hello shim\n"));
  std::string w1 = watcher.read_until(has_out("hello shim\n"));
  EXPECT_NE(demux(w1).out.find("hello shim\n"), std::string::npos);
  // The writer's input EOF closes the container's stdin (stdin-once): cat ends, sh says bye.
  ASSERT_TRUE(writer.send("second line\n"));
  writer.shutdown_write();

  auto wire = writer.read_all();
  auto d = demux(wire);
  EXPECT_TRUE(d.valid);
  EXPECT_EQ(d.out, "hello shim\nsecond line\n");
  EXPECT_EQ(d.err, "bye\n");
  EXPECT_TRUE(writer.eof());

  auto w = demux(w1 + watcher.read_all());
  EXPECT_EQ(w.out, "hello shim\nsecond line\n");
  EXPECT_EQ(w.err, "bye\n");
  EXPECT_EQ(raw.read_all(), "hello shim\nsecond line\n");  // raw, stdout only
  EXPECT_TRUE(raw.eof());

  EXPECT_TRUE(wait_shim_gone(l.shim_pid));
  std::string log = read_file(l.state_dir + "/container.log");
  EXPECT_NE(log.find("\"log\":\"hello shim\\n\",\"stream\":\"stdout\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"log\":\"bye\\n\",\"stream\":\"stderr\""), std::string::npos) << log;
}

TEST_F(ShimTest, WithoutStdinOnceDetachingKeepsStdinOpen) {
  auto l = launch(base_spec({"cat"}), {"--stdin"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  {
    auto a = connect(l);
    ASSERT_TRUE(a.request({{"op", "attach"}, {"stdin", true}})["ok"]);
    ASSERT_TRUE(a.send("one\n"));
    EXPECT_NE(demux(a.read_until(has_out("one\n"))).out.find("one\n"), std::string::npos);
  }  // detached: closed without stopping anything
  auto b = connect(l);
  ASSERT_TRUE(b.request({{"op", "attach"}, {"stdin", true}})["ok"]);
  ASSERT_TRUE(b.send("two\n"));
  EXPECT_NE(demux(b.read_until(has_out("two\n"))).out.find("two\n"), std::string::npos);
  auto c = connect(l);
  EXPECT_EQ(c.request({{"op", "state"}})["status"], "running");
  // close_stdin: cat sees EOF and exits 0. (The wait goes first: once the container is done
  // the shim leaves, and a later request would find exit.json instead.)
  auto w = connect(l);
  ASSERT_TRUE(w.send("{\"op\":\"wait\"}\n"));
  ASSERT_TRUE(c.request({{"op", "close_stdin"}})["ok"]);
  EXPECT_EQ(Json::parse(w.read_line())["exit_code"], 0);
  b.read_all();
  EXPECT_TRUE(b.eof());
}

TEST_F(ShimTest, InputBeforeTheAnswerIsNotLost) {
  auto l = launch(base_spec({"sh", "-c", "read line; echo \"got $line\""}), {"--stdin", "--stdin-once"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto a = connect(l);
  // Request and first input in one write, as a hijacking proxy may send them.
  ASSERT_TRUE(a.send("{\"op\":\"attach\",\"stdin\":true}\nabc\n"));
  EXPECT_TRUE(Json::parse(a.read_line())["ok"]);
  EXPECT_EQ(demux(a.read_all()).out, "got abc\n");
}

}  // namespace
}  // namespace berth::test

namespace berth::test {
namespace {

int rss_kib(pid_t pid) {
  std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  auto at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : std::atoi(status.c_str() + at + 6);
}

TEST_F(ShimTest, LargeOutputReachesAttacherAndLogWhole) {
  // 3 MB on one line, then it waits for its stdin to close.
  auto l = launch(base_spec({"sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo; read x; exit 0"}),
                  {"--stdin", "--no-start"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto a = connect(l);
  ASSERT_TRUE(a.request({{"op", "attach"}})["ok"]);
  auto c = connect(l);
  auto w = connect(l);
  ASSERT_TRUE(w.send("{\"op\":\"wait\"}\n"));
  ASSERT_TRUE(c.request({{"op", "start"}})["ok"]);
  std::string wire = a.read_until([](const std::string& s) { return demux(s).out.size() >= 3000001; }, 30000);
  auto d = demux(wire);
  ASSERT_EQ(d.out.size(), 3000001u);
  EXPECT_EQ(d.out.find_first_not_of('a'), 3000000u);
  int kib = rss_kib(l.shim_pid);
  std::printf("berth-shim VmRSS after 3 MB of output: %d KiB\n", kib);
  EXPECT_LE(kib, 2048);
  ASSERT_TRUE(c.request({{"op", "close_stdin"}})["ok"]);
  EXPECT_EQ(Json::parse(w.read_line())["exit_code"], 0);
  EXPECT_TRUE(wait_shim_gone(l.shim_pid));
  // The line is logged in 16 KiB pieces, the last one with the newline.
  std::string log = read_file(l.state_dir + "/container.log");
  size_t entries = 0, total = 0;
  for (size_t pos = 0; pos < log.size();) {
    size_t nl = log.find('\n', pos);
    auto e = Json::parse(log.substr(pos, nl - pos));
    total += e["log"].get<std::string>().size();
    ++entries;
    pos = nl + 1;
  }
  EXPECT_EQ(total, 3000001u);
  EXPECT_EQ(entries, (3000001u + 16383u) / 16384u);
}

}  // namespace
}  // namespace berth::test
