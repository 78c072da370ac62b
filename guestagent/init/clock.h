// The guest's wall clock comes from the host: microvm's RTC is not trusted to be set and
// guest clocks drift under TCG or stop while the host sleeps. Two sources: berth.time= on
// the command line at boot, and POST /berth/v1/time whenever the host syncs.
#pragma once

#include <cstdint>

#include "berth/common/result.h"

namespace berth::agent::init {

// Sets CLOCK_REALTIME; returns how far it moved it (new - old), in milliseconds.
Result<int64_t> set_clock_unix_nanos(int64_t unix_nanos);

// berth.time= is when the host started the VM, roughly when the kernel started; the boot
// time since then (CLOCK_BOOTTIME) is added so the clock is right now, not at kernel start.
Result<int64_t> set_clock_from_boot_param(int64_t host_unix_nanos_at_start);

}  // namespace berth::agent::init
