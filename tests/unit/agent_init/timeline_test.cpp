#include "init/timeline.h"

#include <gtest/gtest.h>

#include "init/control_api.h"
#include "init/network.h"
#include "init/system_info.h"

namespace berth::agent::init {
namespace {

TEST(Timeline, Json) {
  BootTimeline t;
  t.init_started(480);
  t.add("mounts", 480, 490);
  t.add("modules", 490, 610);
  t.add("net", 611, 700);  // overlaps the disk: measured on its own thread
  t.add("disk", 611, 650);
  t.ready(702);
  Json j = t.to_json();
  EXPECT_EQ(j["init_ms"], 480);
  EXPECT_EQ(j["modules_ms"], 610);
  EXPECT_EQ(j["disk_ms"], 650);
  EXPECT_EQ(j["net_ms"], 700);
  EXPECT_EQ(j["ready_ms"], 702);
  ASSERT_EQ(j["steps"].size(), 4u);
  EXPECT_EQ(j["steps"][1]["name"], "modules");
  EXPECT_EQ(j["steps"][1]["start_ms"], 490);
  EXPECT_EQ(j["steps"][1]["ms"], 120);
  EXPECT_FALSE(j.contains("shares_ms")) << "steps that did not run have no key";
}

TEST(Timeline, EmptyBeforeBoot) {
  Json j = BootTimeline().to_json();
  EXPECT_FALSE(j.contains("init_ms"));
  EXPECT_FALSE(j.contains("ready_ms"));
  EXPECT_TRUE(j["steps"].empty());
}

TEST(ControlApi, ReadyJson) {
  BootTimeline t;
  t.init_started(400);
  t.ready(800);
  ControlContext ctx;
  ctx.timeline = &t;
  ctx.warnings = {"share berth1 at /x: no virtiofs device with tag \"berth1\""};
  Json j = ready_json(ctx);
  EXPECT_EQ(j["ready"], true);
  EXPECT_EQ(j["protocol"], 1);
  EXPECT_FALSE(j["version"].get<std::string>().empty());
  EXPECT_EQ(j["boot"]["ready_ms"], 800);
  EXPECT_EQ(j["warnings"].size(), 1u);
}

TEST(SystemInfo, Meminfo) {
  auto m = parse_meminfo("MemTotal:         482000 kB\nMemFree:          400000 kB\nMemAvailable:     450000 kB\n"
                         "HugePages_Total:       0\n");
  EXPECT_EQ(m["MemTotal"], 482000u * 1024);
  EXPECT_EQ(m["HugePages_Total"], 0u);
  Json j = memory_json(m);
  EXPECT_EQ(j["total_bytes"], 482000u * 1024);
  EXPECT_EQ(j["used_bytes"], 32000u * 1024);
}

TEST(SystemInfo, Mounts) {
  Json j = mounts_json("/dev/vda /var/lib/berth ext4 rw,noatime 0 0\nberth0 /Users/me/my\\040src virtiofs rw 0 0\n");
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["target"], "/var/lib/berth");
  EXPECT_EQ(j[1]["target"], "/Users/me/my src");
  EXPECT_EQ(j[1]["type"], "virtiofs");
}

TEST(Network, ResolvConf) {
  EXPECT_EQ(resolv_conf({"10.0.2.3"}, "example.test"),
            "# written by berth-agent at boot\nnameserver 10.0.2.3\nsearch example.test\n");
  EXPECT_EQ(resolv_conf({}, ""), "# written by berth-agent at boot\n");
}

}  // namespace
}  // namespace berth::agent::init
