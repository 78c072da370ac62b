# Every dependency is a Debian package installed by scripts/setup.
find_package(PkgConfig REQUIRED)
find_package(tl-expected REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)
find_package(LibArchive REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(Boost 1.74 REQUIRED)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp)
  pkg_check_modules(LIBCAP REQUIRED IMPORTED_TARGET libcap)
endif()
pkg_check_modules(LIBSSH IMPORTED_TARGET libssh)
if(BERTH_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(BERTH_BENCH)
  find_package(benchmark REQUIRED)
endif()

# spdlog and fmt compiled into the binary (Debian's spdlog_header_only target still links
# the shared libfmt, so this one is spelled out).
add_library(berth_spdlog_embedded INTERFACE)
target_compile_definitions(berth_spdlog_embedded INTERFACE SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY=1)
get_target_property(_spdlog_inc spdlog::spdlog_header_only INTERFACE_INCLUDE_DIRECTORIES)
target_include_directories(berth_spdlog_embedded INTERFACE ${_spdlog_inc})
target_link_libraries(berth_spdlog_embedded INTERFACE Threads::Threads)

if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # Static archives for the statically linked runtime.
  find_library(BERTH_SECCOMP_STATIC NAMES libseccomp.a)
  find_library(BERTH_LIBCAP_STATIC NAMES libcap.a)
endif()

# berth-agent is the guest's /init, and every shared library it needs is copied into the
# initramfs, which lives in guest RAM: it links OpenSSL and libarchive (with the compression
# libraries libarchive uses) from their static archives instead. berth_agent_ssl and
# berth_agent_archive are what the agent's parts (and their tests) link.
option(BERTH_AGENT_STATIC_LIBS "Link berth-agent's OpenSSL and libarchive from static archives" ON)
add_library(berth_agent_ssl INTERFACE)
add_library(berth_agent_archive INTERFACE)
if(CMAKE_SYSTEM_NAME STREQUAL "Linux" AND BERTH_AGENT_STATIC_LIBS)
  foreach(_lib ssl crypto archive lzma zstd lz4 bz2 z)
    find_library(BERTH_STATIC_${_lib} NAMES lib${_lib}.a)
    if(NOT BERTH_STATIC_${_lib})
      message(FATAL_ERROR "lib${_lib}.a not found: run scripts/setup (or configure with -DBERTH_AGENT_STATIC_LIBS=OFF)")
    endif()
  endforeach()
  target_include_directories(berth_agent_ssl INTERFACE ${OPENSSL_INCLUDE_DIR})
  target_link_libraries(berth_agent_ssl INTERFACE ${BERTH_STATIC_ssl} ${BERTH_STATIC_crypto} ${CMAKE_DL_LIBS}
                        Threads::Threads)
  # libarchive.a before the libraries it calls. The agent reads tar with gzip/bzip2/xz/zstd/lz4
  # filters and writes pax; but the pax writer's object file needs one from the table of all
  # writers (archive_write_set_format.o), which names xar (libxml2), zip and 7zip (nettle).
  # Debian builds libarchive.a with one section per function, so --gc-sections drops those
  # writers and their references to libraries that are not linked.
  target_include_directories(berth_agent_archive INTERFACE ${LibArchive_INCLUDE_DIRS})
  target_link_libraries(berth_agent_archive INTERFACE ${BERTH_STATIC_archive} ${BERTH_STATIC_lzma} ${BERTH_STATIC_zstd}
                        ${BERTH_STATIC_lz4} ${BERTH_STATIC_bz2} ${BERTH_STATIC_z})
  target_link_options(berth_agent_archive INTERFACE -Wl,--gc-sections)
else()
  target_link_libraries(berth_agent_ssl INTERFACE OpenSSL::SSL OpenSSL::Crypto)
  target_link_libraries(berth_agent_archive INTERFACE LibArchive::LibArchive)
endif()
