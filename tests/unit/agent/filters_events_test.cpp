// Docker's filters argument and event matching/streaming.
#include <gtest/gtest.h>

#include <thread>

#include "core/events.h"
#include "core/filters.h"

namespace berth::agent {
namespace {

TEST(Filters, BothWireForms) {
  auto a = Filters::parse(R"({"label":{"a=b":true,"c":true},"status":{"running":true}})");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->get("label"), (std::vector<std::string>{"a=b", "c"}));
  auto b = Filters::parse(R"({"label":["a=b"],"name":["web"]})");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->get("name"), std::vector<std::string>{"web"});
  EXPECT_TRUE(Filters::parse("")->empty());
  EXPECT_FALSE(Filters::parse("{bad"));
  EXPECT_FALSE(Filters::parse(R"({"label":"a"})"));
  EXPECT_FALSE(Filters::parse(R"([1])"));
}

TEST(Filters, ValidateAndMatch) {
  auto f = Filters::parse(R"({"label":["app=web","tier"],"id":["abc"],"status":["exited"]})").value();
  EXPECT_TRUE(f.validate({"label", "id", "status"}));
  auto bad = f.validate({"label"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "invalid filter 'id'");
  EXPECT_TRUE(f.match_labels("label", {{"app", "web"}, {"tier", "x"}}));
  EXPECT_FALSE(f.match_labels("label", {{"app", "db"}, {"tier", "x"}}));
  EXPECT_FALSE(f.match_labels("label", {{"app", "web"}}));
  EXPECT_TRUE(f.match_prefix("id", "abcdef"));
  EXPECT_FALSE(f.match_prefix("id", "xabc"));
  EXPECT_TRUE(f.match_exact("status", "exited"));
  EXPECT_FALSE(f.match_exact("status", "running"));
  EXPECT_TRUE(f.match_exact("absent", "anything"));
  auto d = Filters::parse(R"({"dangling":["true"]})").value();
  EXPECT_EQ(d.get_bool("dangling").value(), true);
  EXPECT_FALSE(Filters::parse(R"({"dangling":["maybe"]})").value().get_bool("dangling"));
}

Event container_event(const std::string& action, const std::string& name) {
  Event e;
  e.type = "container";
  e.action = action;
  e.id = "0123456789ab" + std::string(52, 'c');
  e.attributes = {{"name", name}, {"image", "busybox"}, {"app", "web"}};
  e.time_nano = 1700000000123456789;
  return e;
}

TEST(Events, JsonShape) {
  auto e = container_event("die", "web");
  e.attributes["exitCode"] = "3";
  auto j = to_json(e);
  EXPECT_EQ(j["Type"], "container");
  EXPECT_EQ(j["Action"], "die");
  EXPECT_EQ(j["status"], "die");
  EXPECT_EQ(j["from"], "busybox");
  EXPECT_EQ(j["Actor"]["ID"], e.id);
  EXPECT_EQ(j["Actor"]["Attributes"]["exitCode"], "3");
  EXPECT_EQ(j["scope"], "local");
  EXPECT_EQ(j["time"], 1700000000);
  EXPECT_EQ(j["timeNano"], 1700000000123456789);
}

TEST(Events, Filters) {
  auto e = container_event("exec_start: sh -c true", "web");
  EXPECT_TRUE(event_matches(e, Filters::parse(R"({"event":["exec_start"]})").value()));
  EXPECT_TRUE(event_matches(e, Filters::parse(R"({"container":["web"]})").value()));
  EXPECT_TRUE(event_matches(e, Filters::parse(R"({"container":["0123456789"]})").value()));
  EXPECT_FALSE(event_matches(e, Filters::parse(R"({"container":["db"]})").value()));
  EXPECT_TRUE(event_matches(e, Filters::parse(R"({"type":["container"],"label":["app=web"]})").value()));
  EXPECT_FALSE(event_matches(e, Filters::parse(R"({"type":["image"]})").value()));
  EXPECT_TRUE(event_matches(e, Filters::parse(R"({"image":["busybox"]})").value()));
}

TEST(Events, HistoryAndSubscribers) {
  EventBus bus(4);
  for (int i = 0; i < 6; ++i) {
    auto e = container_event("start", "c" + std::to_string(i));
    e.time_nano = 1000 + i;
    bus.publish(e);
  }
  std::vector<Event> past;
  auto sub = bus.subscribe(1003, past);
  ASSERT_EQ(past.size(), 3u);  // history keeps 4; 1002 is older than `since`
  EXPECT_EQ(past[0].attributes["name"], "c3");
  EXPECT_FALSE(sub->next(10));
  std::thread t([&] { bus.publish(container_event("stop", "late")); });
  auto got = sub->next(2000);
  t.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->action, "stop");
  EXPECT_GT(got->time_nano, 0);
  bus.unsubscribe(sub);
}

}  // namespace
}  // namespace berth::agent
