#include "berth/shim/frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::shim {
namespace {

TEST(ShimFrame, HeaderIsStreamPaddingAndBigEndianSize) {
  std::string out;
  append_frame(out, Stream::err, "hello");
  ASSERT_EQ(out.size(), kFrameHeaderSize + 5);
  EXPECT_EQ(out.substr(0, 8), std::string("\x02\x00\x00\x00\x00\x00\x00\x05", 8));
  EXPECT_EQ(out.substr(8), "hello");

  out.clear();
  append_frame(out, Stream::out, std::string(0x010203, 'a'));
  EXPECT_EQ(out.substr(0, 8), std::string("\x01\x00\x00\x00\x00\x01\x02\x03", 8));
}

TEST(ShimFrame, EmptyPayloadIsOneEmptyFrame) {
  std::string out;
  append_frame(out, Stream::out, "");
  EXPECT_EQ(out, std::string("\x01\x00\x00\x00\x00\x00\x00\x00", 8));
}

TEST(ShimFrame, DecoderReassemblesFramesSplitAnywhere) {
  std::string wire;
  append_frame(wire, Stream::out, "first");
  append_frame(wire, Stream::err, "second\n");
  append_frame(wire, Stream::out, std::string(1000, 'z'));
  for (size_t chunk : {1u, 3u, 7u, 8u, 9u, 64u, 5000u}) {
    FrameDecoder d;
    std::vector<std::pair<Stream, std::string>> got;
    for (size_t i = 0; i < wire.size(); i += chunk) {
      ASSERT_TRUE(d.feed(std::string_view(wire).substr(i, chunk), [&](Stream s, std::string_view p) { got.emplace_back(s, std::string(p)); }));
    }
    ASSERT_EQ(got.size(), 3u) << "chunk " << chunk;
    EXPECT_EQ(got[0], std::make_pair(Stream::out, std::string("first")));
    EXPECT_EQ(got[1], std::make_pair(Stream::err, std::string("second\n")));
    EXPECT_EQ(got[2].second.size(), 1000u);
    EXPECT_EQ(d.pending(), 0u);
  }
}

TEST(ShimFrame, DecoderRejectsWhatIsNotAFrame) {
  FrameDecoder d;
  EXPECT_FALSE(d.feed("hello, world", [](Stream, std::string_view) {}));
  FrameDecoder d2;
  EXPECT_FALSE(d2.feed(std::string("\x01\x00\x01\x00\x00\x00\x00\x01x", 9), [](Stream, std::string_view) {}));
}

}  // namespace
}  // namespace berth::shim
