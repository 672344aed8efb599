# Builds the single-file playground page: cmake -DWEB_DIR=... -DPLOTLY=... -DMODULE=... -DOUTPUT=... -P
# assemble.cmake. playground.html holds four markers, each replaced by a file's text: the style sheet,
# plotly.js, the emscripten module (its WebAssembly already inlined as base64) and the page script.
foreach(input WEB_DIR PLOTLY MODULE OUTPUT)
  if(NOT DEFINED ${input})
    message(FATAL_ERROR "assemble.cmake: -D${input}=... is required")
  endif()
endforeach()

file(READ ${WEB_DIR}/playground.html page)
foreach(pair "@PLAYGROUND_CSS@=${WEB_DIR}/playground.css" "@PLOTLY_JS@=${PLOTLY}" "@MODULE_JS@=${MODULE}"
             "@PLAYGROUND_JS@=${WEB_DIR}/playground.js")
  string(REGEX MATCH "^[^=]+" marker "${pair}")
  string(REGEX REPLACE "^[^=]+=" "" file "${pair}")
  string(FIND "${page}" "${marker}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "assemble.cmake: ${WEB_DIR}/playground.html lacks the marker ${marker}")
  endif()
  file(READ ${file} text)
  # Inside a <script> element the HTML parser ends the element at the first "</script", wherever it
  # stands; in JavaScript text "<\/script" means the same.
  string(REPLACE "</script" "<\\/script" text "${text}")
  string(REPLACE "${marker}" "${text}" page "${page}")
endforeach()
file(WRITE ${OUTPUT}.tmp "${page}")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
