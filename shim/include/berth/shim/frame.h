// Docker's multiplexed attach stream: each chunk of output travels as an 8-byte header
// {stream, 0, 0, 0, size as big-endian uint32} followed by `size` bytes. Used by the shim for
// attachers that ask for it (and by default without a TTY), so the agent can pass the bytes
// to a Docker client unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace berth::shim {

// Values are Docker's stream type bytes.
enum class Stream : uint8_t { in = 0, out = 1, err = 2 };

inline constexpr size_t kFrameHeaderSize = 8;

// Appends one frame per at most 4 GiB - 1 of payload (in practice: one frame).
inline void append_frame(std::string& out, Stream stream, std::string_view payload) {
  do {
    size_t n = payload.size() > UINT32_MAX ? UINT32_MAX : payload.size();
    const auto size = static_cast<uint32_t>(n);
    const char header[kFrameHeaderSize] = {static_cast<char>(stream), 0, 0, 0,
                                           static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                                           static_cast<char>(size >> 8), static_cast<char>(size)};
    out.append(header, kFrameHeaderSize);
    out.append(payload.data(), n);
    payload.remove_prefix(n);
  } while (!payload.empty());
}

// Incremental decoder: feed it bytes as they arrive (frames may be split anywhere); it calls
// on_frame(Stream, std::string_view) for each complete frame. Returns false (and stops) on a
// header whose stream byte is not 0, 1 or 2 or whose padding is not zero: the peer is not
// speaking this format.
class FrameDecoder {
 public:
  template <class Fn>
  bool feed(std::string_view data, Fn&& on_frame) {
    buffer_.append(data.data(), data.size());
    size_t pos = 0;
    while (buffer_.size() - pos >= kFrameHeaderSize) {
      const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data() + pos);
      if (h[0] > 2 || h[1] || h[2] || h[3]) return false;
      const size_t size = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | size_t{h[7]};
      if (buffer_.size() - pos - kFrameHeaderSize < size) break;
      on_frame(static_cast<Stream>(h[0]), std::string_view(buffer_).substr(pos + kFrameHeaderSize, size));
      pos += kFrameHeaderSize + size;
    }
    buffer_.erase(0, pos);
    return true;
  }
  // Bytes of an incomplete frame still waiting for the rest.
  size_t pending() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

}  // namespace berth::shim
