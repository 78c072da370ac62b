# Cross-compiling berth's guest binaries for arm64 on a Debian machine of another architecture
# (images/cross-build sets this up). The compiler is Debian's g++-aarch64-linux-gnu with its
# own C and C++ runtime (/usr/aarch64-linux-gnu); every other library comes from
# BERTH_CROSS_SYSROOT, a tree unpacked from Debian's arm64 -dev packages, so the host's dpkg
# configuration stays as it is (no `dpkg --add-architecture`).
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
#         -DBERTH_CROSS_SYSROOT=build-arm64/sysroot ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(_triplet aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${_triplet}-gcc)
set(CMAKE_CXX_COMPILER ${_triplet}-g++)

# try_compile() projects read this file again without the cache: pass the sysroot on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES BERTH_CROSS_SYSROOT)
if(NOT BERTH_CROSS_SYSROOT)
  message(FATAL_ERROR "set BERTH_CROSS_SYSROOT to the arm64 sysroot (images/cross-build makes it)")
endif()
# --sysroot also keeps the host's own /usr/include out of the search path, which Debian's
# cross compiler otherwise appends last.
set(CMAKE_SYSROOT ${BERTH_CROSS_SYSROOT})
# Debian's multiarch layout: libraries in usr/lib/aarch64-linux-gnu (find_library looks there
# only when it knows the architecture).
set(CMAKE_LIBRARY_ARCHITECTURE ${_triplet})

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (libseccomp, libcap) reads only the sysroot's .pc files and prefixes their paths.
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${BERTH_CROSS_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR}
    "${BERTH_CROSS_SYSROOT}/usr/lib/${_triplet}/pkgconfig:${BERTH_CROSS_SYSROOT}/usr/share/pkgconfig")

# Shared libraries in the sysroot name others (libspdlog.so -> libfmt.so.9) that the linker
# must find there, not in the host's /usr/lib.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${BERTH_CROSS_SYSROOT}/usr/lib/${_triplet}")
