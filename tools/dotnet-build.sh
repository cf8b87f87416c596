# Sourced by run-tests.sh, publish.sh and tests/packaging/check.sh: how their builds run dotnet.
#
# build_dotnet ARGS...: dotnet for a build, publish, pack or tool install, without tiered compilation
# (DOTNET_TieredCompilation=0) in MSBuild, its nodes and the compiler server they start. Those processes run
# ReadyToRun code that tiering would compile again: a clean build of the tests took 37-39 CPU-seconds instead of
# 46-70, and the Native AOT publish of the four tools 83-95 instead of 98-123 (tests/README.md). Only the build: the
# tests, the tools they run and the tools a user installs keep the runtime's defaults.
build_dotnet() {
    DOTNET_TieredCompilation=0 dotnet "$@"
}

# The builds of run-tests.sh and publish.sh use the C# compiler server (VBCSCompiler) even where the environment
# turns it off (UseSharedCompilation=false, as some CI images set): one warm server compiles every project instead of
# one compiler process per project, which takes a clean build of the tests from 38 s to 28 s on two cores and the
# Native AOT publish of the four tools from 65 s to 56 s. A server that was not running when the script started and
# runs when it ends is stopped then (stop_compiler_server, from the script's EXIT trap), so none is left behind; a
# run that compiled nothing starts no server and stops none.
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
