// Virtqueue: the device side of one split virtqueue living in guest memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "guest_memory.h"
#include "vsock_log.h"

namespace berth::vsock {

// One available descriptor chain, already translated and bounds-checked.
struct DescChain {
  uint16_t head = 0;
  std::vector<HostSpan> readable;  // driver → device, in order
  std::vector<HostSpan> writable;  // device → driver, in order
  size_t readable_len = 0;
  size_t writable_len = 0;
};

// Copies between a byte range of a span list and flat memory; returns bytes copied.
size_t copy_from_spans(const std::vector<HostSpan>& spans, size_t offset, void* dst, size_t len);
size_t copy_to_spans(const std::vector<HostSpan>& spans, size_t offset, const void* src, size_t len);

// Everything read from guest memory is treated as hostile: descriptors are copied once
// before use, every address goes through GuestMemory's bounds checks, and a bad chain is
// handed back to the guest as used (0 bytes) instead of being followed.
class Virtqueue {
 public:
  static constexpr uint32_t kMaxSize = 32768;

  Virtqueue() = default;
  Virtqueue(const Virtqueue&) = delete;
  Virtqueue& operator=(const Virtqueue&) = delete;

  void set_log(Log log, std::string name) {
    log_ = std::move(log);
    name_ = std::move(name);
  }
  // Configuration from the front-end; takes effect at the next attach().
  void set_size(uint32_t num) { num_ = num; }
  uint32_t size() const { return num_; }
  void set_addresses(uint64_t desc, uint64_t avail, uint64_t used) {
    desc_addr_ = desc;
    avail_addr_ = avail;
    used_addr_ = used;
  }
  void set_features(bool event_idx, bool indirect) {
    event_idx_ = event_idx;
    indirect_ = indirect;
  }
  void set_last_avail(uint16_t idx) { last_avail_ = idx; }
  uint16_t last_avail() const { return last_avail_; }
  void set_call(UniqueFd fd) { call_ = std::move(fd); }

  // Resolves the ring addresses in `memory` (which must outlive the attachment).
  Status attach(const GuestMemory& memory);
  void detach();
  bool attached() const { return memory_ != nullptr && !broken_; }

  // Next well-formed chain, or nullopt when none is available.
  std::optional<DescChain> pop();
  // Returns the chain pop() just produced to the ring, untouched.
  void unpop() { --last_avail_; }
  void push(uint16_t head, uint32_t written);
  // Interrupts the guest if it asked for one since the last notify().
  void notify();
  // Asks the guest to kick on its next addition. True when chains arrived meanwhile, in
  // which case the caller should pop again rather than wait for a kick.
  bool arm_kicks();

  uint64_t bad_chains() const { return bad_chains_; }

 private:
  std::optional<std::string> walk(uint16_t head, DescChain& chain) const;
  uint16_t avail_idx() const;

  Log log_;
  std::string name_;
  LogLimiter bad_log_;
  uint32_t num_ = 0;
  uint64_t desc_addr_ = 0;
  uint64_t avail_addr_ = 0;
  uint64_t used_addr_ = 0;
  bool event_idx_ = false;
  bool indirect_ = false;
  UniqueFd call_;

  const GuestMemory* memory_ = nullptr;
  const uint8_t* desc_ = nullptr;
  uint8_t* avail_ = nullptr;
  uint8_t* used_ = nullptr;
  bool broken_ = false;
  uint16_t last_avail_ = 0;
  uint16_t used_idx_ = 0;
  uint16_t signalled_used_ = 0;
  uint64_t bad_chains_ = 0;
};

}  // namespace berth::vsock
