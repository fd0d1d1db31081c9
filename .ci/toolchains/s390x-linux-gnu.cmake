# Cross build for s390x Linux with Debian's cross compiler (gcc-s390x-linux-gnu).
# Target libraries such as cmocka come from Debian multiarch
# (libcmocka-dev:s390x), which the cross compiler and find_library see through
# the multiarch directory /usr/lib/s390x-linux-gnu. CTest runs the target's
# programs under qemu-user explicitly (no binfmt needed) with the loader and C
# library of libc6:s390x, which libcmocka0:s390x brings. Not with
# -L /usr/s390x-linux-gnu: that loader (libc6-s390x-cross) finds libc.so.6 of
# libc6:s390x through the ld.so cache, and a loader and libc.so.6 of two glibc
# builds (2.36-8cross1, 2.36-9+deb12u14) hang threaded programs.
#   cmake -S . -B build-s390x -DCMAKE_TOOLCHAIN_FILE=.ci/toolchains/s390x-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(CMAKE_C_COMPILER s390x-linux-gnu-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE s390x-linux-gnu)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-s390x)
