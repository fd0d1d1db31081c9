# Install rules: headers, libraries, sse.pc, the CMake package, ssecat and
# sse-hub. Included from the top-level CMakeLists.txt when SSE_INSTALL is ON.
#
# Components: sse_Runtime (the shared library's versioned files),
# sse_Development (headers, libsse.a, the libsse.so link, sse.pc, the CMake
# package) and sse_Tools (ssecat, sse-hub, their man pages, sse-hub.service).
# lib/cmake/package.cmake makes one Debian package of each.

include(CMakePackageConfigHelpers)

# The headers carry the version too (sse_version() reports it); they must
# agree with project(), which versions the package files and the soname.
file(STRINGS "${PROJECT_SOURCE_DIR}/include/sse/common.h" _sse_hdr_version
     REGEX "^#define SSE_VERSION_STRING \"[^\"]*\"")
string(REGEX REPLACE ".*\"([^\"]*)\".*" "\\1" _sse_hdr_version "${_sse_hdr_version}")
if(NOT _sse_hdr_version STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "include/sse/common.h says version '${_sse_hdr_version}', "
                      "CMakeLists.txt says '${PROJECT_VERSION}'")
endif()

set(SSE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/sse"
    CACHE STRING "Where to install the CMake package files (relative to the prefix)")
mark_as_advanced(SSE_INSTALL_CMAKEDIR)

# Every public header: the whole include/ tree.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT sse_Development
        FILES_MATCHING PATTERN "*.h")

# One export set per kind, in its own file, so a shared-only and a
# static-only build can be installed into the same prefix.
foreach(target IN LISTS SSE_LIBRARY_TARGETS)
  get_target_property(_sse_type ${target} TYPE)
  if(_sse_type STREQUAL "SHARED_LIBRARY")
    set(_sse_kind shared)
  else()
    set(_sse_kind static)
  endif()
  install(TARGETS ${target} EXPORT sse-${_sse_kind}-targets
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT sse_Runtime
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT sse_Runtime
            NAMELINK_COMPONENT sse_Development
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT sse_Development
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(EXPORT sse-${_sse_kind}-targets
    NAMESPACE sse::
    DESTINATION "${SSE_INSTALL_CMAKEDIR}"
    COMPONENT sse_Development)
endforeach()

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/sse-config.cmake.in"
  "${PROJECT_BINARY_DIR}/sse-config.cmake"
  INSTALL_DESTINATION "${SSE_INSTALL_CMAKEDIR}"
  NO_SET_AND_CHECK_MACRO)
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/sse-config-version.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/sse-config.cmake"
              "${PROJECT_BINARY_DIR}/sse-config-version.cmake"
        DESTINATION "${SSE_INSTALL_CMAKEDIR}"
        COMPONENT sse_Development)

# sse.pc is written at install time, so that `cmake --install --prefix DIR`
# gets DIR in it. Directories given as absolute paths are used as they are.
set(SSE_PC_LIBS_PRIVATE "" CACHE STRING
    "Libs.private of sse.pc: what a static link of libsse needs besides libc")
mark_as_advanced(SSE_PC_LIBS_PRIVATE)
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(_sse_pc_${dir} "${CMAKE_INSTALL_${dir}}")
  elseif(dir STREQUAL "LIBDIR")
    set(_sse_pc_${dir} "\${exec_prefix}/${CMAKE_INSTALL_${dir}}")
  else()
    set(_sse_pc_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
install(CODE "
  set(PROJECT_VERSION [[${PROJECT_VERSION}]])
  set(PROJECT_DESCRIPTION [[${PROJECT_DESCRIPTION}]])
  set(SSE_PC_LIBDIR [[${_sse_pc_LIBDIR}]])
  set(SSE_PC_INCLUDEDIR [[${_sse_pc_INCLUDEDIR}]])
  set(SSE_PC_LIBS_PRIVATE [[${SSE_PC_LIBS_PRIVATE}]])
  set(SSE_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file([[${PROJECT_SOURCE_DIR}/sse.pc.in]] [[${PROJECT_BINARY_DIR}/sse.pc]] @ONLY)
" COMPONENT sse_Development)
install(FILES "${PROJECT_BINARY_DIR}/sse.pc"
        DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig"
        COMPONENT sse_Development)

# The tools: ssecat and sse-hub, their man pages, sse-hub's systemd unit, and
# a run path to the shared library when they use it (not in a Debian package:
# the library is then in the linker's default path).
set(_sse_tools "")
if(SSE_INSTALL_SSECAT AND TARGET ssecat)
  list(APPEND _sse_tools ssecat)
endif()
if(SSE_INSTALL_HUB AND TARGET sse-hub)
  list(APPEND _sse_tools sse-hub)
endif()
get_target_property(_sse_type sse TYPE)
foreach(tool IN LISTS _sse_tools)
  if(_sse_type STREQUAL "SHARED_LIBRARY" AND NOT WIN32 AND NOT SSE_PACKAGE_DEB)
    file(RELATIVE_PATH _sse_rel "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
    if(APPLE)
      set_target_properties(${tool} PROPERTIES INSTALL_RPATH "@loader_path/${_sse_rel}")
    else()
      set_target_properties(${tool} PROPERTIES INSTALL_RPATH "$ORIGIN/${_sse_rel}")
    endif()
  endif()
  if(tool STREQUAL "ssecat")
    set(_sse_man "${PROJECT_SOURCE_DIR}/examples/ssecat.1")
  else()
    set(_sse_man "${PROJECT_SOURCE_DIR}/examples/hub/${tool}.1")
  endif()
  file(STRINGS "${_sse_man}" _sse_th REGEX "^\\.TH ")
  if(NOT _sse_th MATCHES "\"libsse ${PROJECT_VERSION}\"")
    message(FATAL_ERROR "${_sse_man}: its .TH line should name \"libsse ${PROJECT_VERSION}\"")
  endif()
  install(TARGETS ${tool} RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT sse_Tools)
  if(SSE_PACKAGE_DEB)
    # Debian wants man pages compressed, reproducibly (no name or time inside).
    find_program(SSE_GZIP gzip)
    if(NOT SSE_GZIP)
      message(FATAL_ERROR "SSE_PACKAGE_DEB needs gzip")
    endif()
    set(_sse_gz "${PROJECT_BINARY_DIR}/${tool}.1.gz")
    install(CODE "
      execute_process(COMMAND [[${SSE_GZIP}]] -9nc [[${_sse_man}]]
                      OUTPUT_FILE [[${_sse_gz}]] RESULT_VARIABLE _sse_rc)
      if(NOT _sse_rc EQUAL 0)
        message(FATAL_ERROR \"gzip ${_sse_man}: \${_sse_rc}\")
      endif()
    " COMPONENT sse_Tools)
    install(FILES "${_sse_gz}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT sse_Tools)
  else()
    install(FILES "${_sse_man}" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1" COMPONENT sse_Tools)
  endif()
endforeach()

# sse-hub's unit, written at install time like sse.pc: ExecStart names the
# installed program under the prefix of that install. Units go to
# /lib/systemd/system for the /usr prefix (Debian 12's place for packaged
# units), else to PREFIX/lib/systemd/system (systemd also reads
# /usr/local/lib/systemd/system).
if(SSE_INSTALL_HUB AND TARGET sse-hub)
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(_sse_unitdir_default "/lib/systemd/system")
  else()
    set(_sse_unitdir_default "lib/systemd/system")
  endif()
  set(SSE_INSTALL_SYSTEMDUNITDIR "${_sse_unitdir_default}" CACHE STRING
      "Where to install sse-hub.service (relative to the prefix, or absolute)")
  mark_as_advanced(SSE_INSTALL_SYSTEMDUNITDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_BINDIR}")
    set(_sse_bindir "${CMAKE_INSTALL_BINDIR}")
  else()
    set(_sse_bindir "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}")
  endif()
  install(CODE "
    set(SSE_HUB_BINDIR \"${_sse_bindir}\")
    configure_file([[${PROJECT_SOURCE_DIR}/examples/hub/sse-hub.service.in]]
                   [[${PROJECT_BINARY_DIR}/sse-hub.service]] @ONLY)
  " COMPONENT sse_Tools)
  install(FILES "${PROJECT_BINARY_DIR}/sse-hub.service"
          DESTINATION "${SSE_INSTALL_SYSTEMDUNITDIR}" COMPONENT sse_Tools)
endif()
