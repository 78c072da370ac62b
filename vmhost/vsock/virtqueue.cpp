#include "virtqueue.h"

#include <endian.h>

#include <algorithm>
#include <cstring>

namespace berth::vsock {
namespace {

constexpr uint16_t kDescNext = 1;
constexpr uint16_t kDescWrite = 2;
constexpr uint16_t kDescIndirect = 4;
constexpr uint16_t kAvailNoInterrupt = 1;
constexpr size_t kDescSize = 16;

struct Desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

Desc read_desc(const uint8_t* table, uint32_t index) {
  // One copy: the guest may rewrite the descriptor while we look at it.
  uint8_t raw[kDescSize];
  std::memcpy(raw, table + static_cast<size_t>(index) * kDescSize, kDescSize);
  Desc d;
  std::memcpy(&d.addr, raw, 8);
  std::memcpy(&d.len, raw + 8, 4);
  std::memcpy(&d.flags, raw + 12, 2);
  std::memcpy(&d.next, raw + 14, 2);
  d.addr = le64toh(d.addr);
  d.len = le32toh(d.len);
  d.flags = le16toh(d.flags);
  d.next = le16toh(d.next);
  return d;
}

uint16_t load16(const uint8_t* p, int order) {
  return le16toh(__atomic_load_n(reinterpret_cast<const uint16_t*>(p), order));
}

void store16(uint8_t* p, uint16_t v, int order) {
  __atomic_store_n(reinterpret_cast<uint16_t*>(p), htole16(v), order);
}

void store32(uint8_t* p, uint32_t v) { __atomic_store_n(reinterpret_cast<uint32_t*>(p), htole32(v), __ATOMIC_RELAXED); }

}  // namespace

size_t copy_from_spans(const std::vector<HostSpan>& spans, size_t offset, void* dst, size_t len) {
  auto* out = static_cast<uint8_t*>(dst);
  size_t done = 0;
  for (const auto& s : spans) {
    if (done == len) break;
    if (offset >= s.size) {
      offset -= s.size;
      continue;
    }
    size_t n = std::min(s.size - offset, len - done);
    std::memcpy(out + done, s.data + offset, n);
    done += n;
    offset = 0;
  }
  return done;
}

size_t copy_to_spans(const std::vector<HostSpan>& spans, size_t offset, const void* src, size_t len) {
  const auto* in = static_cast<const uint8_t*>(src);
  size_t done = 0;
  for (const auto& s : spans) {
    if (done == len) break;
    if (offset >= s.size) {
      offset -= s.size;
      continue;
    }
    size_t n = std::min(s.size - offset, len - done);
    std::memcpy(s.data + offset, in + done, n);
    done += n;
    offset = 0;
  }
  return done;
}

Status Virtqueue::attach(const GuestMemory& memory) {
  detach();
  if (num_ == 0 || num_ > kMaxSize || (num_ & (num_ - 1)) != 0) {
    return make_error(Errc::protocol, name_ + ": queue size " + std::to_string(num_) + " is not a power of two <= 32768");
  }
  if (desc_addr_ % 16 || avail_addr_ % 2 || used_addr_ % 4) {
    return make_error(Errc::protocol, name_ + ": misaligned ring address");
  }
  // The event-index fields trail the rings; QEMU always allocates them.
  uint64_t desc_len = kDescSize * num_;
  uint64_t avail_len = 4 + 2ull * num_ + 2;
  uint64_t used_len = 4 + 8ull * num_ + 2;
  const uint8_t* desc = memory.uaddr_to_host(desc_addr_, desc_len);
  uint8_t* avail = memory.uaddr_to_host(avail_addr_, avail_len);
  uint8_t* used = memory.uaddr_to_host(used_addr_, used_len);
  if (!desc || !avail || !used) return make_error(Errc::protocol, name_ + ": ring outside guest memory");
  memory_ = &memory;
  desc_ = desc;
  avail_ = avail;
  used_ = used;
  broken_ = false;
  // The guest's used index survives a stop/start (e.g. VM pause); continue from it.
  used_idx_ = load16(used_ + 2, __ATOMIC_ACQUIRE);
  signalled_used_ = used_idx_;
  return ok();
}

void Virtqueue::detach() {
  memory_ = nullptr;
  desc_ = nullptr;
  avail_ = nullptr;
  used_ = nullptr;
}

uint16_t Virtqueue::avail_idx() const { return load16(avail_ + 2, __ATOMIC_ACQUIRE); }

std::optional<std::string> Virtqueue::walk(uint16_t head, DescChain& chain) const {
  const uint8_t* table = desc_;
  uint32_t table_size = num_;
  bool in_indirect = false;
  bool seen_writable = false;
  uint32_t index = head;
  uint32_t visited = 0;
  for (;;) {
    if (index >= table_size) return "descriptor index " + std::to_string(index) + " out of range";
    // More links than the table has entries can only mean a cycle.
    if (++visited > table_size) return "descriptor chain loops";
    Desc d = read_desc(table, index);
    if (d.flags & kDescIndirect) {
      if (!indirect_) return "indirect descriptor without VIRTIO_RING_F_INDIRECT_DESC";
      if (in_indirect) return "nested indirect descriptor";
      if (d.flags & kDescNext) return "indirect descriptor with NEXT set";
      if (d.len == 0 || d.len % kDescSize != 0 || d.len / kDescSize > kMaxSize) {
        return "indirect table length " + std::to_string(d.len) + " invalid";
      }
      table = memory_->gpa_to_host(d.addr, d.len);
      if (!table) return "indirect table outside guest memory";
      table_size = d.len / kDescSize;
      index = 0;
      visited = 0;
      in_indirect = true;
      continue;
    }
    bool writable = d.flags & kDescWrite;
    if (!writable && seen_writable) return "device-readable descriptor after a writable one";
    seen_writable = seen_writable || writable;
    auto& spans = writable ? chain.writable : chain.readable;
    if (!memory_->gpa_to_spans(d.addr, d.len, spans)) {
      return "buffer 0x" + fmt::format("{:x}+{}", d.addr, d.len) + " outside guest memory";
    }
    (writable ? chain.writable_len : chain.readable_len) += d.len;
    if (!(d.flags & kDescNext)) return std::nullopt;
    index = d.next;
  }
}

std::optional<DescChain> Virtqueue::pop() {
  while (attached()) {
    uint16_t avail = avail_idx();
    if (avail == last_avail_) return std::nullopt;
    if (static_cast<uint16_t>(avail - last_avail_) > num_) {
      log_.error("{}: guest moved avail index from {} to {} (queue size {}); queue stopped until reset", name_,
                 last_avail_, avail, num_);
      broken_ = true;
      return std::nullopt;
    }
    uint16_t head = load16(avail_ + 4 + 2 * (last_avail_ % num_), __ATOMIC_RELAXED);
    ++last_avail_;
    DescChain chain;
    chain.head = head;
    auto problem = walk(head, chain);
    if (!problem) return chain;
    ++bad_chains_;
    if (bad_log_.allow()) {
      log_.warn("{}: dropping descriptor chain {}: {} ({} so far)", name_, head, *problem, bad_chains_);
    }
    // Hand the chain back so the guest can reclaim it; an out-of-range head is not a
    // descriptor of this ring and cannot be returned.
    if (head < num_) push(head, 0);
  }
  return std::nullopt;
}

void Virtqueue::push(uint16_t head, uint32_t written) {
  if (!attached()) return;
  uint8_t* elem = used_ + 4 + 8 * static_cast<size_t>(used_idx_ % num_);
  store32(elem, head);
  store32(elem + 4, written);
  ++used_idx_;
  store16(used_ + 2, used_idx_, __ATOMIC_RELEASE);
}

void Virtqueue::notify() {
  if (!attached() || used_idx_ == signalled_used_) return;
  // Our used-index store must be visible before we read the guest's suppression state.
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  bool needed;
  if (event_idx_) {
    uint16_t used_event = load16(avail_ + 4 + 2 * num_, __ATOMIC_RELAXED);
    needed = static_cast<uint16_t>(used_idx_ - used_event - 1) < static_cast<uint16_t>(used_idx_ - signalled_used_);
  } else {
    needed = !(load16(avail_, __ATOMIC_RELAXED) & kAvailNoInterrupt);
  }
  signalled_used_ = used_idx_;
  if (needed && call_) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(call_.get(), &one, sizeof one);
  }
}

bool Virtqueue::arm_kicks() {
  if (!attached() || !event_idx_) return false;
  store16(used_ + 4 + 8 * num_, last_avail_, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  return avail_idx() != last_avail_;
}

}  // namespace berth::vsock
