// The host's TSC rate, for the TCG clock workaround (qemu_args.cpp, kernel_cmdline).
#pragma once

namespace berth::qemu {

// kHz, measured over ~100 ms against CLOCK_MONOTONIC_RAW; 0 on hosts without a TSC.
long host_tsc_khz();

}  // namespace berth::qemu
