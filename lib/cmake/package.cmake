# Debian packages with CPack, one per install component:
#   libsse<major>  sse_Runtime      libsse.so.<major> and its versioned file
#   libsse-dev     sse_Development  headers, libsse.a, the libsse.so link,
#                                   sse.pc, the CMake package
#   sse-tools      sse_Tools        ssecat, sse-hub, man pages, sse-hub.service
#
#   cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DSSE_PACKAGE_DEB=ON \
#         -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSSE_BUILD_TESTS=OFF
#   cmake --build build-deb -j2 && (cd build-deb && cpack -G DEB)
#
# SSE_PACKAGE_DEB=ON adds what Debian asks of every package and a plain install
# does not want: a copyright file and changelogs in /usr/share/doc/<package>,
# gzipped man pages, no run path in the tools. Build with the flags of
# `dpkg-buildflags` (.ci/check-60-deb.sh does) for the hardening lintian looks
# for. Included from the top-level CMakeLists.txt after install.cmake.

set(SSE_DEB_RELEASE "1" CACHE STRING "Debian revision of the packages (the -N of 1.0.0-N)")
set(SSE_DEB_MAINTAINER
    "Seed 89195a41 maintainers <maintainers@users.noreply.r-seed-89195a41.example>"
    CACHE STRING "Maintainer field of the Debian packages")
mark_as_advanced(SSE_DEB_RELEASE SSE_DEB_MAINTAINER)
set(SSE_DEB_VERSION "${PROJECT_VERSION}-${SSE_DEB_RELEASE}")
set(_sse_deb_lib "libsse${PROJECT_VERSION_MAJOR}")

set(CPACK_PACKAGE_NAME libsse)
set(CPACK_PACKAGE_VENDOR "libsse")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${SSE_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DIRECTORY "${PROJECT_BINARY_DIR}/packages")
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
if(NOT CPACK_GENERATOR)
  set(CPACK_GENERATOR DEB)
endif()
set(CPACK_COMPONENTS_ALL sse_Runtime sse_Development)
if(SSE_INSTALL_SSECAT OR SSE_INSTALL_HUB)
  list(APPEND CPACK_COMPONENTS_ALL sse_Tools)
endif()

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE "${SSE_DEB_RELEASE}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SSE_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)          # Depends from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)    # shlibs file and ldconfig trigger
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)   # libsse-dev: libsse1 (= version)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_SSE_RUNTIME_PACKAGE_NAME "${_sse_deb_lib}")
set(CPACK_DEBIAN_SSE_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_SSE_RUNTIME_DESCRIPTION
"Server-Sent Events framing and streaming library
libsse decodes and encodes the text/event-stream format of the WHATWG HTML
standard and streams events to many clients, without doing any I/O itself:
an incremental decoder, an encoder into caller memory, per-connection
streams with bounded queues and shared frames, a replay history, HTTP
helpers and reconnection timing.
.
This package contains the shared library.")

set(CPACK_DEBIAN_SSE_DEVELOPMENT_PACKAGE_NAME libsse-dev)
set(CPACK_DEBIAN_SSE_DEVELOPMENT_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_SSE_DEVELOPMENT_DEPENDS sse_Runtime)
set(CPACK_DEBIAN_SSE_DEVELOPMENT_DESCRIPTION
"Server-Sent Events framing and streaming library (development files)
libsse decodes and encodes the text/event-stream format of the WHATWG HTML
standard and streams events to many clients, without doing any I/O itself.
.
This package contains the headers (the API reference), the static library,
the pkg-config file sse.pc and the CMake package for find_package(sse).")

set(CPACK_DEBIAN_SSE_TOOLS_PACKAGE_NAME sse-tools)
set(CPACK_DEBIAN_SSE_TOOLS_PACKAGE_SECTION net)
set(CPACK_DEBIAN_SSE_TOOLS_DESCRIPTION
"Server-Sent Events tools: ssecat and the sse-hub broadcast server
ssecat decodes a text/event-stream into JSON lines, or encodes JSON lines
into a stream.
.
sse-hub is a Server-Sent Events broadcast server: publishers POST events,
subscribers hold GET /events open, with topics, replay by Last-Event-ID,
JWT authorization, CORS and Prometheus metrics. Its systemd unit runs it as
a dynamic unprivileged user on 127.0.0.1:8080; it is not started on
installation.")

if(SSE_PACKAGE_DEB)
  # libsse1 refreshes the linker cache through the ldconfig trigger; its
  # postinst and postrm do nothing but take the place of CPack's, which would
  # call ldconfig directly.
  set(_sse_deb_ctl "${PROJECT_BINARY_DIR}/deb/${_sse_deb_lib}")
  set(CPACK_DEBIAN_SSE_RUNTIME_PACKAGE_CONTROL_EXTRA "")
  foreach(file triggers postinst postrm)
    configure_file("${CMAKE_CURRENT_LIST_DIR}/deb/libsse.${file}" "${_sse_deb_ctl}/${file}" COPYONLY)
    list(APPEND CPACK_DEBIAN_SSE_RUNTIME_PACKAGE_CONTROL_EXTRA "${_sse_deb_ctl}/${file}")
  endforeach()

  # The maintainer scripts of sse-tools, under the names dpkg wants.
  set(_sse_deb_ctl "${PROJECT_BINARY_DIR}/deb/sse-tools")
  set(CPACK_DEBIAN_SSE_TOOLS_PACKAGE_CONTROL_EXTRA "")
  foreach(script postinst prerm postrm)
    configure_file("${CMAKE_CURRENT_LIST_DIR}/deb/sse-tools.${script}"
                   "${_sse_deb_ctl}/${script}" COPYONLY)
    list(APPEND CPACK_DEBIAN_SSE_TOOLS_PACKAGE_CONTROL_EXTRA "${_sse_deb_ctl}/${script}")
  endforeach()

  # copyright, changelog.Debian.gz and the upstream changelog.gz in each
  # package's /usr/share/doc directory, compressed reproducibly.
  find_program(SSE_GZIP gzip)
  if(NOT SSE_GZIP)
    message(FATAL_ERROR "SSE_PACKAGE_DEB needs gzip")
  endif()
  configure_file("${CMAKE_CURRENT_LIST_DIR}/deb/changelog.in"
                 "${PROJECT_BINARY_DIR}/deb/changelog.Debian" @ONLY)
  foreach(pair IN ITEMS "sse_Runtime:${_sse_deb_lib}" "sse_Development:libsse-dev"
                        "sse_Tools:sse-tools")
    string(REPLACE ":" ";" pair "${pair}")
    list(GET pair 0 _sse_comp)
    list(GET pair 1 _sse_pkg)
    if(NOT _sse_comp IN_LIST CPACK_COMPONENTS_ALL)
      continue()
    endif()
    set(_sse_doc "${CMAKE_INSTALL_DATAROOTDIR}/doc/${_sse_pkg}")
    foreach(f IN ITEMS "${PROJECT_BINARY_DIR}/deb/changelog.Debian"
                       "${PROJECT_SOURCE_DIR}/CHANGELOG.md")
      get_filename_component(_sse_name "${f}" NAME_WE)
      string(TOLOWER "${_sse_name}" _sse_name)
      if(f MATCHES "Debian$")
        set(_sse_name changelog.Debian)
      endif()
      install(CODE "
        execute_process(COMMAND [[${SSE_GZIP}]] -9nc [[${f}]]
                        OUTPUT_FILE [[${PROJECT_BINARY_DIR}/deb/${_sse_name}.gz]]
                        RESULT_VARIABLE rc)
        if(NOT rc EQUAL 0)
          message(FATAL_ERROR [[gzip ${f} failed]])
        endif()
      " COMPONENT ${_sse_comp})
    endforeach()
    install(FILES "${CMAKE_CURRENT_LIST_DIR}/deb/copyright"
                  "${PROJECT_BINARY_DIR}/deb/changelog.Debian.gz"
                  "${PROJECT_BINARY_DIR}/deb/changelog.gz"
            DESTINATION "${_sse_doc}" COMPONENT ${_sse_comp})
  endforeach()

  # libsse.a without debugging sections, as Debian's own packages ship it
  # (CPACK_STRIP_FILES strips only programs and shared libraries).
  if("STATIC" IN_LIST SSE_LIBRARY_KINDS)
    install(CODE "
      set(_sse_a \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/libsse.a\")
      if(CMAKE_INSTALL_DO_STRIP AND EXISTS \"\${_sse_a}\")
        execute_process(COMMAND [[${CMAKE_STRIP}]] --strip-debug --remove-section=.comment
                                --enable-deterministic-archives \"\${_sse_a}\")
      endif()
    " COMPONENT sse_Development)
  endif()
endif()

include(CPack)
