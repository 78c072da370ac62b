#include "backends/qemu/kvm_probe.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "berth/common/unique_fd.h"

namespace berth::qemu {

namespace {

class Mapping {
 public:
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  ~Mapping() {
    if (addr_ != MAP_FAILED) ::munmap(addr_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  bool ok() const { return addr_ != MAP_FAILED; }
  void* get() const { return addr_; }

 private:
  void* addr_;
  size_t size_;
};

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

#if defined(__x86_64__)
// A VM's memory, a vCPU and its kvm_run page.
struct Guest {
  std::unique_ptr<Mapping> mem;
  UniqueFd vcpu;
  std::unique_ptr<Mapping> run;
};

// "" on success, else what failed.
std::string make_guest(int kvm, int vm, size_t mem_size, Guest& g) {
  g.mem = std::make_unique<Mapping>(
      ::mmap(nullptr, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0), mem_size);
  if (!g.mem->ok()) return errno_text("mmap guest memory");
  kvm_userspace_memory_region region{};
  region.slot = 0;
  region.guest_phys_addr = 0;
  region.memory_size = mem_size;
  region.userspace_addr = reinterpret_cast<uint64_t>(g.mem->get());
  if (::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) != 0) return errno_text("KVM_SET_USER_MEMORY_REGION");
  g.vcpu = UniqueFd(::ioctl(vm, KVM_CREATE_VCPU, 0));
  if (!g.vcpu) return errno_text("KVM_CREATE_VCPU");
  int run_size = ::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size <= 0) return errno_text("KVM_GET_VCPU_MMAP_SIZE");
  g.run = std::make_unique<Mapping>(
      ::mmap(nullptr, static_cast<size_t>(run_size), PROT_READ | PROT_WRITE, MAP_SHARED, g.vcpu.get(), 0),
      static_cast<size_t>(run_size));
  if (!g.run->ok()) return errno_text("mmap kvm_run");
  return {};
}

std::string run_to_hlt(Guest& g, const char* what) {
  int r;
  do {
    r = ::ioctl(g.vcpu.get(), KVM_RUN, 0);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return errno_text((std::string("KVM_RUN (") + what + ")").c_str());
  auto* run = static_cast<kvm_run*>(g.run->get());
  if (run->exit_reason == KVM_EXIT_HLT) return {};
  std::string why = std::string("KVM_RUN of a ") + what + " test guest ended with exit reason " +
                    std::to_string(run->exit_reason);
  if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
    why += " (internal error, suberror " + std::to_string(run->internal.suberror) +
           (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? ": emulation failure)" : ")");
  }
  return why;
}

std::string run_real_mode_hlt(int kvm, int vm) {
  Guest g;
  if (auto why = make_guest(kvm, vm, 0x10000, g); !why.empty()) return why;
  static_cast<unsigned char*>(g.mem->get())[0x1000] = 0xf4;  // hlt
  kvm_sregs sregs{};
  if (::ioctl(g.vcpu.get(), KVM_GET_SREGS, &sregs) != 0) return errno_text("KVM_GET_SREGS");
  // Real mode, flat: execution starts at CS:IP = 0:0x1000.
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (::ioctl(g.vcpu.get(), KVM_SET_SREGS, &sregs) != 0) return errno_text("KVM_SET_SREGS");
  kvm_regs regs{};
  regs.rip = 0x1000;
  regs.rflags = 0x2;  // bit 1 is reserved and must be set
  if (::ioctl(g.vcpu.get(), KVM_SET_REGS, &regs) != 0) return errno_text("KVM_SET_REGS");
  return run_to_hlt(g, "real-mode");
}

std::string run_long_mode_cmpxchg16b(int kvm, int vm) {
  constexpr size_t kMem = 0x200000;
  constexpr uint64_t kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000, kCode = 0x4000;
  Guest g;
  if (auto why = make_guest(kvm, vm, kMem, g); !why.empty()) return why;
  auto* mem = static_cast<unsigned char*>(g.mem->get());
  auto entry = [&](uint64_t table, size_t index, uint64_t value) {
    std::memcpy(mem + table + index * 8, &value, sizeof value);
  };
  // Identity map of the first 2 MiB with one large page.
  entry(kPml4, 0, kPdpt | 0x3);        // present, writable
  entry(kPdpt, 0, kPd | 0x3);
  entry(kPd, 0, 0x0 | 0x3 | 0x80);     // present, writable, 2 MiB page
  const unsigned char code[] = {
      0x48, 0x31, 0xc0,                    // xor rax, rax
      0x48, 0x31, 0xd2,                    // xor rdx, rdx
      0x48, 0x31, 0xdb,                    // xor rbx, rbx
      0x48, 0x31, 0xc9,                    // xor rcx, rcx
      0xbf, 0x00, 0x18, 0x00, 0x00,        // mov edi, 0x1800 (unused PML4 entries)
      0xf0, 0x48, 0x0f, 0xc7, 0x0f,        // lock cmpxchg16b [rdi]
      0xf4,                                // hlt
  };
  std::memcpy(mem + kCode, code, sizeof code);

  kvm_sregs sregs{};
  if (::ioctl(g.vcpu.get(), KVM_GET_SREGS, &sregs) != 0) return errno_text("KVM_GET_SREGS");
  kvm_segment seg{};
  seg.base = 0;
  seg.limit = 0xffffffff;
  seg.present = 1;
  seg.dpl = 0;
  seg.s = 1;
  seg.g = 1;
  seg.selector = 2 << 3;
  seg.type = 3;  // data: read/write, accessed
  seg.db = 1;
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
  seg.selector = 1 << 3;
  seg.type = 11;  // code: execute/read, accessed
  seg.db = 0;
  seg.l = 1;
  sregs.cs = seg;
  sregs.cr3 = kPml4;
  sregs.cr4 = 1u << 5;                            // PAE
  sregs.cr0 = 0x80000001u | (1u << 16);           // PG, PE, WP
  sregs.efer = (1u << 8) | (1u << 10);            // LME, LMA
  if (::ioctl(g.vcpu.get(), KVM_SET_SREGS, &sregs) != 0) return errno_text("KVM_SET_SREGS (long mode)");
  kvm_regs regs{};
  regs.rip = kCode;
  regs.rsp = kMem;
  regs.rflags = 0x2;
  if (::ioctl(g.vcpu.get(), KVM_SET_REGS, &regs) != 0) return errno_text("KVM_SET_REGS");
  return run_to_hlt(g, "64-bit");
}
#endif

}  // namespace

KvmProbe probe_kvm(const std::string& device) {
  KvmProbe probe;
  UniqueFd kvm(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!kvm) {
    probe.reason = errno_text(("open " + device).c_str());
    return probe;
  }
  if (::ioctl(kvm.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
    probe.reason = "unexpected KVM API version";
    return probe;
  }
  UniqueFd vm(::ioctl(kvm.get(), KVM_CREATE_VM, 0));
  if (!vm) {
    probe.reason = errno_text("KVM_CREATE_VM");
    return probe;
  }
#if defined(__x86_64__)
  // Stage 1, as every KVM user needs: a real-mode HLT.
  // Stage 2, what a Linux guest does at boot: 64-bit mode with paging, and a locked
  // 16-byte compare-exchange on one of its own page tables. Where KVM shadows guest page
  // tables (no EPT/NPT, e.g. nested under PVM), that write traps into KVM's instruction
  // emulator, which cannot do CMPXCHG16B — the failure Linux guests then die of.
  if (auto why = run_real_mode_hlt(kvm.get(), vm.get()); !why.empty()) {
    probe.reason = why;
    return probe;
  }
  UniqueFd vm2(::ioctl(kvm.get(), KVM_CREATE_VM, 0));
  if (!vm2) {
    probe.reason = errno_text("KVM_CREATE_VM");
    return probe;
  }
  if (auto why = run_long_mode_cmpxchg16b(kvm.get(), vm2.get()); !why.empty()) {
    probe.reason = why;
    return probe;
  }
  probe.usable = true;
  probe.reason = "test guests ran to HLT in real mode and in 64-bit mode with paging";
#else
  // Other architectures: creating a VM is the check (no instruction-level probe yet).
  probe.usable = true;
  probe.reason = "KVM_CREATE_VM succeeded";
#endif
  return probe;
}

}  // namespace berth::qemu
