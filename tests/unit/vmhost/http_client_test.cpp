#include "net/http_client.h"

#include <gtest/gtest.h>

namespace berth::net {
namespace {

TEST(HttpResponse, ContentLength) {
  auto r = parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.45\r\n\r\nOKextra", true);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "OK");
  EXPECT_EQ(r->headers["api-version"], "1.45");
}

TEST(HttpResponse, Chunked) {
  auto r = parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n3;x=y\r\n!!!\r\n0\r\n\r\n",
                               false);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->body, "OK!!!");
}

TEST(HttpResponse, IncompleteWantsMoreUntilEof) {
  EXPECT_EQ(parse_http_response("HTTP/1.1 200 OK\r\nContent-Le", false).error().code, Errc::timeout);
  EXPECT_EQ(parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", false).error().code, Errc::timeout);
  EXPECT_EQ(parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", true).error().code, Errc::protocol);
  auto to_eof = parse_http_response("HTTP/1.0 500 Oops\r\n\r\nall of it", true);
  ASSERT_TRUE(to_eof);
  EXPECT_EQ(to_eof->status, 500);
  EXPECT_EQ(to_eof->body, "all of it");
  auto no_content = parse_http_response("HTTP/1.1 204 No Content\r\n\r\n", false);
  ASSERT_TRUE(no_content);
  EXPECT_EQ(no_content->status, 204);
}

TEST(HttpResponse, Garbage) {
  EXPECT_FALSE(parse_http_response("SSH-2.0-OpenSSH\r\n\r\n", true));
  EXPECT_FALSE(parse_http_response("HTTP/1.1 abc\r\n\r\n", true));
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", true));
  EXPECT_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true));
}

}  // namespace
}  // namespace berth::net
