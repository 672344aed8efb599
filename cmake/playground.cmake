# The browser optimizer playground (web/playground/, docs/PLAYGROUND.md). descent's core and optimizer
# sources and the trajectory layer's test functions are compiled to WebAssembly with Debian's emscripten,
# and the module, plotly.js and the page code are inlined into one offline HTML file,
# <build>/playground/playground.html. Built by default when em++ works; skipped with a message otherwise.
# The test program test_playground (tests/playground/) is registered here too.
option(DESCENT_PLAYGROUND "Build the WebAssembly optimizer playground when em++ is available" ON)

set(DESCENT_PLAYGROUND_DIR ${CMAKE_BINARY_DIR}/playground)
set(DESCENT_PLAYGROUND_HTML ${DESCENT_PLAYGROUND_DIR}/playground.html)
set(DESCENT_PLAYGROUND_MODULE ${DESCENT_PLAYGROUND_DIR}/playground_module.js)
set(descent_playground_web ${CMAKE_SOURCE_DIR}/web/playground)
set(descent_playground_plotly ${CMAKE_SOURCE_DIR}/web/node_modules/plotly.js-dist-min/plotly.min.js)
# The trajectory layer keeps its test functions, standard library only, in src/trajectory/function*.cpp.
file(GLOB descent_playground_functions CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/trajectory/function*.cpp)
find_program(DESCENT_EMXX em++)
find_program(DESCENT_NODE node)
find_program(DESCENT_CHROMIUM NAMES chromium chromium-browser)

# emcc runs its JavaScript optimizer under node and needs the acorn parser; Debian installs node modules
# in /usr/share/nodejs, which a node from another source does not search.
set(descent_emxx_env "")
if(EXISTS /usr/share/nodejs/acorn)
  set(descent_emxx_env NODE_PATH=/usr/share/nodejs)
endif()

set(descent_playground_reason "")
if(NOT DESCENT_PLAYGROUND)
  set(descent_playground_reason "DESCENT_PLAYGROUND is OFF")
elseif(NOT DESCENT_EMXX)
  set(descent_playground_reason "em++ not found (Debian package emscripten)")
elseif(NOT EXISTS ${descent_playground_plotly})
  set(descent_playground_reason "${descent_playground_plotly} is missing (run scripts/install-deps)")
else()
  # One probe per build directory: the system's emscripten must compile and link an embind module (it uses
  # Debian's prebuilt, frozen system-library cache; nothing is built into a cache here).
  if(NOT DEFINED DESCENT_EMXX_WORKS)
    file(MAKE_DIRECTORY ${DESCENT_PLAYGROUND_DIR}/probe)
    file(WRITE ${DESCENT_PLAYGROUND_DIR}/probe/probe.cpp
         "#include <emscripten/bind.h>\n#include <string>\nstd::string echo(std::string s) { return s; }\n"
         "EMSCRIPTEN_BINDINGS(probe) { emscripten::function(\"echo\", &echo); }\n")
    execute_process(COMMAND ${CMAKE_COMMAND} -E env ${descent_emxx_env} ${DESCENT_EMXX} -std=c++20 -O1 --bind
                            -fexceptions probe.cpp -o probe.js
                    WORKING_DIRECTORY ${DESCENT_PLAYGROUND_DIR}/probe RESULT_VARIABLE probe_result
                    OUTPUT_VARIABLE probe_output ERROR_VARIABLE probe_output)
    if(probe_result EQUAL 0)
      set(DESCENT_EMXX_WORKS ON CACHE INTERNAL "em++ builds an embind module")
    else()
      string(REGEX REPLACE "\n.*" "" probe_first_line "${probe_output}")
      if(probe_first_line STREQUAL "")
        set(probe_first_line "exit status ${probe_result}")
      endif()
      set(DESCENT_EMXX_WORKS OFF CACHE INTERNAL "em++ builds an embind module")
      set(DESCENT_EMXX_PROBE_ERROR "${probe_first_line}" CACHE INTERNAL "why em++ failed")
    endif()
  endif()
  if(NOT DESCENT_EMXX_WORKS)
    string(CONCAT descent_playground_reason "${DESCENT_EMXX} cannot build a module here "
           "(${DESCENT_EMXX_PROBE_ERROR}); configure with -UDESCENT_EMXX_WORKS to probe again")
  endif()
endif()

if(descent_playground_reason)
  message(STATUS "playground: skipped, ${descent_playground_reason}")
  set(DESCENT_PLAYGROUND_BUILT OFF)
else()
  message(STATUS "playground: ${DESCENT_PLAYGROUND_HTML} (WebAssembly by ${DESCENT_EMXX})")
  set(DESCENT_PLAYGROUND_BUILT ON)

  # nlohmann/json is header-only; a copy of its folder keeps the host's other headers out of em++'s search
  # path (they would shadow emscripten's C library).
  find_path(descent_nlohmann_root nlohmann/json.hpp REQUIRED)
  file(COPY ${descent_nlohmann_root}/nlohmann DESTINATION ${DESCENT_PLAYGROUND_DIR}/include)

  # The real library sources: core (but blas.cpp and blas_lowp.cpp, whose OpenBLAS and oneDNN calls plain_blas.cpp replaces), every
  # optimizer, and the dependency-free files of the test functions.
  file(GLOB descent_playground_core CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/core/*.cpp)
  list(REMOVE_ITEM descent_playground_core ${CMAKE_SOURCE_DIR}/src/core/blas.cpp
       ${CMAKE_SOURCE_DIR}/src/core/blas_lowp.cpp)
  file(GLOB descent_playground_optim CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/optim/*.cpp)
  set(descent_playground_sources
      ${descent_playground_core} ${descent_playground_optim} ${descent_playground_functions}
      ${descent_playground_web}/playground_core.cpp ${descent_playground_web}/plain_blas.cpp
      ${descent_playground_web}/bindings.cpp)

  # Single-threaded and without x86 intrinsics: parallel_for runs inline for the two-element point, and
  # DESCENT_OPTIM_MULTIVERSION is empty under clang. Exceptions are on so that a bad option comes back
  # to the page as descent's error message.
  set(descent_emxx_flags -std=c++20 -O2 -fexceptions -Wall -Wextra -Wno-unknown-warning-option
      -I${CMAKE_SOURCE_DIR}/include -isystem ${DESCENT_PLAYGROUND_DIR}/include)
  # ccache handles em++ like any compiler: a second build directory (or a clean one) compiles from cache.
  set(descent_emxx_launcher "")
  if(CCACHE_PROGRAM)
    set(descent_emxx_launcher ${CCACHE_PROGRAM})
  endif()
  set(descent_playground_objects "")
  foreach(source IN LISTS descent_playground_sources)
    file(RELATIVE_PATH relative ${CMAKE_SOURCE_DIR} ${source})
    string(REGEX REPLACE "[/.]" "_" stem "${relative}")
    set(object ${DESCENT_PLAYGROUND_DIR}/objects/${stem}.o)
    add_custom_command(
      OUTPUT ${object}
      COMMAND ${CMAKE_COMMAND} -E env ${descent_emxx_env} ${descent_emxx_launcher} ${DESCENT_EMXX} ${descent_emxx_flags}
              -MD -MF ${object}.d -c ${source} -o ${object}
      DEPENDS ${source}
      DEPFILE ${object}.d
      COMMENT "em++ ${relative}"
      VERBATIM)
    list(APPEND descent_playground_objects ${object})
  endforeach()

  # The WebAssembly (inlined as base64) is compiled synchronously, so the engine exists once the page's
  # scripts have run: a headless browser that dumps the page after load sees finished paths.
  add_custom_command(
    OUTPUT ${DESCENT_PLAYGROUND_MODULE}
    COMMAND ${CMAKE_COMMAND} -E env ${descent_emxx_env} ${DESCENT_EMXX} -O2 --bind -fexceptions
            -sSINGLE_FILE=1 -sMODULARIZE=1 -sEXPORT_NAME=createPlayground -sALLOW_MEMORY_GROWTH=1
            -sWASM_ASYNC_COMPILATION=0 -sENVIRONMENT=web,node ${descent_playground_objects} -o ${DESCENT_PLAYGROUND_MODULE}
    DEPENDS ${descent_playground_objects}
    COMMENT "em++ link: playground_module.js (WebAssembly inlined)"
    VERBATIM)

  set(descent_playground_page ${descent_playground_web}/playground.html ${descent_playground_web}/playground.css
      ${descent_playground_web}/playground.js)
  add_custom_command(
    OUTPUT ${DESCENT_PLAYGROUND_HTML}
    COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${descent_playground_web} -DPLOTLY=${descent_playground_plotly}
            -DMODULE=${DESCENT_PLAYGROUND_MODULE} -DOUTPUT=${DESCENT_PLAYGROUND_HTML}
            -P ${descent_playground_web}/assemble.cmake
    DEPENDS ${DESCENT_PLAYGROUND_MODULE} ${descent_playground_page} ${descent_playground_plotly}
            ${descent_playground_web}/assemble.cmake
    COMMENT "playground.html: module, plotly.js and page inlined"
    VERBATIM)
  add_custom_target(playground ALL DEPENDS ${DESCENT_PLAYGROUND_HTML})
endif()

if(DESCENT_TESTS)
  enable_testing()
  find_package(GTest REQUIRED)
  include(GoogleTest)
  file(GLOB descent_playground_tests CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/playground/*.cpp)
  # The engine built natively from the same sources the module is built from.
  add_executable(test_playground ${descent_playground_tests} ${descent_playground_web}/playground_core.cpp
                 ${descent_playground_functions})
  target_include_directories(test_playground PRIVATE ${descent_playground_web})
  target_link_libraries(test_playground PRIVATE descent_optim GTest::gtest_main descent_warnings)
  if(NOT DESCENT_NODE)
    set(DESCENT_NODE "")
  endif()
  if(NOT DESCENT_CHROMIUM)
    set(DESCENT_CHROMIUM "")
  endif()
  # The reason becomes a C string literal: no quotes, backslashes or list separators in it.
  string(REGEX REPLACE "[\"\\;]" " " descent_playground_skipped "${descent_playground_reason}")
  target_compile_definitions(test_playground PRIVATE
    DESCENT_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    DESCENT_PLAYGROUND_DIR="${DESCENT_PLAYGROUND_DIR}"
    DESCENT_PLAYGROUND_HTML="${DESCENT_PLAYGROUND_HTML}"
    DESCENT_PLAYGROUND_MODULE="${DESCENT_PLAYGROUND_MODULE}"
    DESCENT_PLAYGROUND_SKIPPED="${descent_playground_skipped}"
    DESCENT_NODE="${DESCENT_NODE}"
    DESCENT_CHROMIUM="${DESCENT_CHROMIUM}")
  if(TARGET playground)
    add_dependencies(test_playground playground)
  endif()
  gtest_discover_tests(test_playground DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endif()
