# Cross build for aarch64 Linux with Debian's cross compiler (gcc-aarch64-linux-gnu).
# Target libraries such as cmocka come from Debian multiarch
# (libcmocka-dev:arm64), which the cross compiler and find_library see through
# the multiarch directory /usr/lib/aarch64-linux-gnu. CTest runs the target's
# programs under qemu-user explicitly (no binfmt needed) with the loader and C
# library of libc6:arm64, which libcmocka0:arm64 brings. Not with
# -L /usr/aarch64-linux-gnu: that loader (libc6-arm64-cross) finds libc.so.6 of
# libc6:arm64 through the ld.so cache, and a loader and libc.so.6 of two glibc
# builds (2.36-8cross1, 2.36-9+deb12u14) hang threaded programs.
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=.ci/toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
