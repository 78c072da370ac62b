// Fuzzing the config.json parser and validator: any bytes must give a spec or an
// invalid_argument error, never a crash, hang or another error kind. The entry point is
// libFuzzer's (build with clang -fsanitize=fuzzer to fuzz for real); the GoogleTest driver below
// replays deterministic mutations of valid configs on every test run.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "berth/common/oci/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = berth::oci::parse_spec(text);
  if (spec) {
    (void)berth::oci::validate_spec(*spec);
    // What we emit we must read back.
    auto again = berth::oci::parse_spec(berth::oci::to_json(*spec).dump());
    if (!again) __builtin_trap();
  } else if (spec.error().code != berth::Errc::invalid_argument) {
    __builtin_trap();
  }
  (void)berth::oci::parse_process(text);
  (void)berth::oci::parse_resources(text);
  return 0;
}

namespace {

const char* kSeed = R"({"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0,"additionalGids":[1,2]},
"args":["sh","-c","echo"],"env":["PATH=/bin"],"cwd":"/","capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"]},
"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],"noNewPrivileges":true,"oomScoreAdj":10},
"root":{"path":"rootfs","readonly":true},"hostname":"h","mounts":[{"destination":"/proc","type":"proc","source":"proc"},
{"destination":"/data","type":"bind","source":"/tmp","options":["rbind","ro"]}],
"hooks":{"prestart":[{"path":"/bin/true","timeout":3}]},"annotations":{"a":"b"},
"linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"network","path":"/proc/1/ns/net"}],
"resources":{"memory":{"limit":1048576},"cpu":{"shares":512,"cpus":"0"},"pids":{"limit":10},
"devices":[{"allow":false,"access":"rwm"}]},"sysctl":{"net.ipv4.ip_forward":"1"},
"seccomp":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW",
"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]}]},"maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"]}})";

TEST(SpecFuzz, MutatedConfigsNeverCrash) {
  std::mt19937 rng(20261122);
  const std::string seed = kSeed;
  const std::string alphabet = "{}[]\":,-0123456789eE.tfnulrs \\\x00\xff";
  int parsed = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string s = seed;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % (s.size() + 1);
      switch (rng() % 4) {
        case 0: if (pos < s.size()) s.erase(pos, 1 + rng() % 4); break;
        case 1: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: if (pos < s.size()) s[pos] = alphabet[rng() % alphabet.size()]; break;
        default: s = s.substr(0, pos); break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
    if (berth::oci::parse_spec(s)) ++parsed;
  }
  // Some mutations (inside strings) stay valid: the parser was exercised on both paths.
  EXPECT_GT(parsed, 0);
  EXPECT_LT(parsed, 5000);
}

}  // namespace
