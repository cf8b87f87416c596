# Sourced by run-tests.sh and publish.sh: their builds use the C# compiler server (VBCSCompiler) even where the
# environment turns it off (UseSharedCompilation=false, as some CI images set): one warm server compiles every project
# instead of one compiler process per project, which takes a clean build of the tests from 38 s to 28 s on two cores
# and the Native AOT publish of the four tools from 65 s to 56 s. A server that was not running when the script
# started and runs when it ends is stopped then (stop_compiler_server, from the script's EXIT trap), so none is left
# behind; a run that compiled nothing starts no server and stops none.
compiler_server_args=(-p:UseSharedCompilation=true)
compiler_server_ours=1
if pgrep -f VBCSCompiler >/dev/null 2>&1; then
    compiler_server_ours=0
fi

stop_compiler_server() {
    if [ "$compiler_server_ours" = 1 ] && pgrep -f VBCSCompiler >/dev/null 2>&1; then
        dotnet build-server shutdown --vbcscompiler >/dev/null 2>&1 || true
    fi
}
