#include "berth/shim/protocol.h"

#include <gtest/gtest.h>

namespace berth::shim {
namespace {

TEST(ShimProtocol, ParsesEveryOperation) {
  auto r = parse_request(R"({"op":"state"})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->op, Op::state);
  EXPECT_EQ(r->exec, "");

  r = parse_request("{\"op\":\"attach\",\"stdin\":true,\"stderr\":false,\"stream\":\"raw\"}\n");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->op, Op::attach);
  EXPECT_TRUE(r->attach.attach_stdin);
  EXPECT_TRUE(r->attach.attach_stdout);
  EXPECT_FALSE(r->attach.attach_stderr);
  EXPECT_EQ(r->attach.format, StreamFormat::raw);

  r = parse_request(R"({"op":"resize","exec":"e1","width":132,"height":43})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exec, "e1");
  EXPECT_EQ(r->width, 132);
  EXPECT_EQ(r->height, 43);

  r = parse_request(R"({"op":"signal","signal":9,"all":true})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->signal, 9);
  EXPECT_TRUE(r->all);

  r = parse_request(R"({"op":"exec","exec":"e2","process":{"args":["ls"],"terminal":true},"stdin":true,"attach":true})");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->op, Op::exec);
  EXPECT_TRUE(r->exec_stdin);
  EXPECT_TRUE(r->exec_attach);
  EXPECT_TRUE(r->attach.attach_stdin);
  EXPECT_EQ(r->process["args"][0], "ls");

  for (auto [line, op] : {std::pair{R"({"op":"start"})", Op::start}, {R"({"op":"wait","exec":"x"})", Op::wait},
                          {R"({"op":"close_stdin"})", Op::close_stdin}}) {
    auto p = parse_request(line);
    ASSERT_TRUE(p) << line;
    EXPECT_EQ(p->op, op);
  }
}

TEST(ShimProtocol, ErrorsNameTheField) {
  struct Case {
    const char* line;
    const char* expect;
  } cases[] = {
      {"not json", "malformed JSON"},
      {"[1]", "request: expected object"},
      {"{}", "op: required"},
      {R"({"op":"fly"})", "unknown operation \"fly\""},
      {R"({"op":7})", "op: expected string"},
      {R"({"op":"resize","width":80})", "height: required"},
      {R"({"op":"resize","width":80,"height":-1})", "height: must not be negative"},
      {R"({"op":"resize","width":70000,"height":1})", "width: must be at most 65535"},
      {R"({"op":"signal"})", "signal: required"},
      {R"({"op":"signal","signal":0})", "signal: must be a signal number"},
      {R"({"op":"exec","process":{}})", "exec: required"},
      {R"({"op":"exec","exec":"a"})", "process: required"},
      {R"({"op":"exec","exec":"a","process":[]})", "process: expected object"},
      {R"({"op":"attach","stream":"fancy"})", "stream: expected"},
      {R"({"op":"attach","stdin":"yes"})", "stdin: expected boolean"},
  };
  for (const auto& c : cases) {
    auto r = parse_request(c.line);
    ASSERT_FALSE(r) << c.line;
    EXPECT_EQ(r.error().code, Errc::invalid_argument) << c.line;
    EXPECT_NE(r.error().what().find(c.expect), std::string::npos) << c.line << " → " << r.error().what();
  }
}

TEST(ShimProtocol, EncodedRequestsParseBack) {
  Request r;
  r.op = Op::exec;
  r.exec = "sh-1";
  r.process = Json{{"args", {"sh"}}, {"terminal", true}};
  r.exec_stdin = true;
  r.exec_attach = true;
  r.attach.format = StreamFormat::raw;
  std::string line = encode_request(r);
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  auto back = parse_request(line);
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->exec, "sh-1");
  EXPECT_EQ(back->process, r.process);
  EXPECT_TRUE(back->exec_stdin);
  EXPECT_TRUE(back->exec_attach);
  EXPECT_EQ(back->attach.format, StreamFormat::raw);

  Request s;
  s.op = Op::signal;
  s.signal = 15;
  auto sb = parse_request(encode_request(s));
  ASSERT_TRUE(sb);
  EXPECT_EQ(sb->signal, 15);
  EXPECT_FALSE(sb->all);
}

TEST(ShimProtocol, ResponsesCarryOkOrACodedError) {
  std::string okline = encode_ok(Json{{"pid", 42}});
  auto ok = parse_response(okline);
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["pid"], 42);

  auto err = parse_response(encode_error(Error{Errc::not_found, 0, "no exec \"x\""}));
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().code, Errc::not_found);
  EXPECT_EQ(err.error().message, "no exec \"x\"");

  auto junk = parse_response("{\"hello\":1}");
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, Errc::protocol);
}

TEST(ShimProtocol, ProcessStateRoundTrips) {
  ProcessState p;
  p.exec = "e";
  p.pid = 7;
  p.status = "stopped";
  p.exit_code = 137;
  p.started_at = "2026-11-21T23:51:26.000000001Z";
  p.finished_at = "2026-11-21T23:51:27.000000001Z";
  auto back = process_state_from_json(to_json(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->exec, "e");
  EXPECT_EQ(back->pid, 7);
  EXPECT_EQ(back->exit_code, 137);
  EXPECT_EQ(back->finished_at, p.finished_at);
  ProcessState running;
  running.status = "running";
  EXPECT_FALSE(to_json(running).contains("exit_code"));
}

}  // namespace
}  // namespace berth::shim
