# Doxygen input filter for the public headers: makes their plain comments
# documentation comments. The comment that opens a file documents the file;
# a comment on a line of its own documents what follows; a comment after code
# on the same line documents that code (a member or an enumerator).
1s|^/\*$|/** \\file|
s|^\([[:space:]]*\)/\*\([^*]\)|\1/**\2|
s|^\([[:space:]]*\)/\*$|\1/**|
s|^\([[:space:]]*[^[:space:]/#][^/]*\)/\*\([^*<]\)|\1/**<\2|
