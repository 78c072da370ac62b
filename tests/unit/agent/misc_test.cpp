// Ids, times, status lines, container records, signals, detach keys, /etc files, volumes.
#include <gtest/gtest.h>

#include "api/stream_proxy.h"
#include "core/container.h"
#include "core/etc_files.h"
#include "core/ids.h"
#include "core/signals.h"
#include "core/volumes.h"
#include "process.h"

namespace berth::agent {
namespace {

TEST(Ids, FormatAndNames) {
  auto id = new_id();
  EXPECT_EQ(id.size(), 64u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(new_id(), id);
  EXPECT_EQ(short_id(id).size(), 12u);
  auto n = random_name();
  EXPECT_TRUE(valid_container_name(n));
  EXPECT_NE(n.find('_'), std::string::npos);
}

TEST(Times, FormatParseAndParams) {
  auto t = parse_time_ns("2024-01-02T03:04:05.123456789Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 1704164645123456789LL);
  EXPECT_EQ(format_time(Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(*t)))),
            "2024-01-02T03:04:05.123456789Z");
  EXPECT_EQ(parse_time_ns("2024-01-02T04:04:05+01:00"), 1704164645000000000LL);
  EXPECT_FALSE(parse_time_ns("yesterday"));
  EXPECT_EQ(parse_timestamp_param("1700000000", "since").value(), 1700000000000000000LL);
  EXPECT_EQ(parse_timestamp_param("1700000000.5", "since").value(), 1700000000500000000LL);
  EXPECT_FALSE(parse_timestamp_param("soon", "since"));
  // Go durations count back from now (dockerd's timetypes.GetTimestamp), e.g. until=24h.
  int64_t before = now_ns();
  int64_t ten_min = parse_timestamp_param("10m", "until").value();
  EXPECT_GE(ten_min, before - 600000000000LL);
  EXPECT_LE(ten_min, now_ns() - 600000000000LL);
  EXPECT_FALSE(parse_timestamp_param("10parsecs", "until"));
  EXPECT_EQ(parse_go_duration("1h30m"), 5400000000000LL);
  EXPECT_EQ(parse_go_duration("1.5s"), 1500000000LL);
  EXPECT_EQ(parse_go_duration("-300ms"), -300000000LL);
  EXPECT_EQ(parse_go_duration("0"), 0);
  EXPECT_FALSE(parse_go_duration("5"));
  EXPECT_FALSE(parse_go_duration("h"));
  EXPECT_FALSE(parse_go_duration(""));
}

TEST(Times, HumanDuration) {
  using namespace std::chrono;
  EXPECT_EQ(human_duration(milliseconds(300)), "Less than a second");
  EXPECT_EQ(human_duration(seconds(1)), "1 second");
  EXPECT_EQ(human_duration(seconds(45)), "45 seconds");
  EXPECT_EQ(human_duration(seconds(90)), "About a minute");
  EXPECT_EQ(human_duration(minutes(5)), "5 minutes");
  EXPECT_EQ(human_duration(minutes(61)), "About an hour");
  EXPECT_EQ(human_duration(hours(5)), "5 hours");
  EXPECT_EQ(human_duration(hours(24 * 3)), "3 days");
  EXPECT_EQ(human_duration(hours(24 * 21)), "3 weeks");
}

TEST(Container, StatusTextAndRoundTrip) {
  ContainerState s;
  EXPECT_EQ(status_text(s, 0), "Created");
  s.running = true;
  s.started_at = "2024-01-01T00:00:00Z";
  auto start = parse_time_ns(s.started_at).value();
  EXPECT_EQ(status_text(s, start + 5000000000LL), "Up 5 seconds");
  s.paused = true;
  EXPECT_EQ(status_text(s, start + 5000000000LL), "Up 5 seconds (Paused)");
  s.running = s.paused = false;
  s.exit_code = 3;
  s.finished_at = "2024-01-01T00:01:00Z";
  EXPECT_EQ(status_text(s, start + 120000000000LL), "Exited (3) About a minute ago");

  Container c;
  c.id = new_id();
  c.name = "/x";
  c.path = "sh";
  c.args = {"-c", "exit 1"};
  c.config.image = "busybox";
  c.config.labels = {{"a", "b"}};
  c.host_config.restart_policy = {"on-failure", 3};
  c.state = s;
  MountPoint m;
  m.type = "volume";
  m.name = "v";
  m.destination = "/v";
  m.anonymous = true;
  m.copy_up = true;
  c.mounts = {m};
  auto back = container_from_json(Json::parse(to_json(c).dump()));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->id, c.id);
  EXPECT_EQ(back->args, c.args);
  EXPECT_EQ(back->state.exit_code, 3);
  EXPECT_EQ(back->host_config.restart_policy.maximum_retry_count, 3);
  ASSERT_EQ(back->mounts.size(), 1u);
  EXPECT_TRUE(back->mounts[0].anonymous);
  EXPECT_TRUE(back->mounts[0].copy_up);
  EXPECT_FALSE(container_from_json(Json::parse(R"({"Name":"/x"})")));
}

TEST(Signals, Names) {
  EXPECT_EQ(parse_signal("SIGTERM").value(), 15);
  EXPECT_EQ(parse_signal("kill").value(), 9);
  EXPECT_EQ(parse_signal("10").value(), 10);
  EXPECT_EQ(parse_signal("SIGRTMIN+1").value(), SIGRTMIN + 1);
  EXPECT_FALSE(parse_signal("SIGNOPE"));
  EXPECT_FALSE(parse_signal("0"));
  EXPECT_EQ(signal_name(9), "SIGKILL");
}

TEST(DetachKeys, Parse) {
  EXPECT_EQ(parse_detach_keys("ctrl-p,ctrl-q").value(), (std::vector<char>{0x10, 0x11}));
  EXPECT_EQ(parse_detach_keys("a,ctrl-[").value(), (std::vector<char>{'a', 27}));
  EXPECT_FALSE(parse_detach_keys("ctrl-1"));
  EXPECT_FALSE(parse_detach_keys("abc"));
}

TEST(EtcFiles, HostsAndResolvConf) {
  EXPECT_TRUE(validate_extra_hosts({"db:10.0.0.2", "v6:[::1]", "gw=host-gateway"}));
  EXPECT_FALSE(validate_extra_hosts({"db:notanip"}));
  EXPECT_FALSE(validate_extra_hosts({"justname"}));
  auto hosts = hosts_file({"db:10.0.0.2"});
  EXPECT_NE(hosts.find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(hosts.find("10.0.0.2\tdb\n"), std::string::npos);
  HostConfig h;
  auto r = resolv_conf(h, "nameserver 127.0.0.53\nsearch example.com\n", false);
  EXPECT_EQ(r, "search example.com\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  EXPECT_EQ(resolv_conf(h, "nameserver 127.0.0.53\n", true), "nameserver 127.0.0.53\n");
  h.dns = {"1.1.1.1"};
  h.dns_options = {"ndots:2"};
  EXPECT_EQ(resolv_conf(h, "nameserver 9.9.9.9\nsearch a.b\n", false), "nameserver 1.1.1.1\nsearch a.b\noptions ndots:2\n");
}

TEST(Volumes, StoreLifecycle) {
  auto dir = test::make_temp_dir("berth-volumes");
  {
    VolumeStore store(dir + "/volumes");
    ASSERT_TRUE(store.load());
    auto v = store.create("data", {{"k", "v"}}, {});
    ASSERT_TRUE(v) << v.error().what();
    EXPECT_EQ(v->mountpoint, dir + "/volumes/data/_data");
    EXPECT_TRUE(test::path_exists(v->mountpoint));
    auto again = store.create("data", {}, {});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->labels.at("k"), "v");
    auto anon = store.create("", {}, {});
    ASSERT_TRUE(anon);
    EXPECT_TRUE(anon->anonymous());
    EXPECT_FALSE(store.create("x", {}, {}));  // too short
    EXPECT_FALSE(store.create("a/b", {}, {}));
    auto busy = store.remove("data", {"c1"});
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code, Errc::conflict);
    EXPECT_EQ(busy.error().message, "remove data: volume is in use - [c1]");
    auto j = to_json(*v);
    EXPECT_EQ(j["Driver"], "local");
    EXPECT_EQ(j["Scope"], "local");
  }
  {
    VolumeStore store(dir + "/volumes");
    ASSERT_TRUE(store.load());
    EXPECT_EQ(store.list().size(), 2u);
    ASSERT_TRUE(store.remove("data", {}));
    auto gone = store.get("data");
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().message, "get data: no such volume");
  }
  test::remove_tree(dir);
}

}  // namespace
}  // namespace berth::agent
