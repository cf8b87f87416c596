#!/usr/bin/env bash
# Packaging check, as a user gets the tools: the Native AOT executables (./publish.sh into dist/<rid>/) and the
# dotnet tool packages (dotnet pack into a temporary folder feed, dotnet tool install into a temporary tool path),
# each then run outside the clone: --version, create + info, a qio write/read, mkimage dump-header, and the
# iotests runner on the suite it carries. run-tests.sh --all runs this as one step and counts its closing line
# "N passed, N failed, N skipped".
#
#   tests/packaging/check.sh [--no-native] [--no-tool] [--tools DIR] [--junit FILE]
#
# With --tools DIR only the checks of the tools run, on the executables qimg, qio, mkimage and iotests in DIR (an
# installation made some other way); nothing is built.
# With --junit FILE each check becomes a test case of one JUnit suite "packaging" in FILE (a failure carries the
# last lines of the command's output), as run-tests.sh --all --junit DIR asks for every step.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tools/dotnet-build.sh
source "$root/tools/dotnet-build.sh"
native=1 tool=1 junit="" installed=""
while [ $# -gt 0 ]; do
    case "$1" in
        --no-native) native=0 ;;
        --no-tool) tool=0 ;;
        --junit|--tools)
            [ $# -ge 2 ] && [ -n "$2" ] || { echo "check.sh: option $1 needs a value" >&2; exit 2; }
            if [ "$1" = --junit ]; then junit="$2"; else installed="$(cd "$2" && pwd)" || exit 2; fi
            shift ;;
        *) echo "check.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

work=$(mktemp -d "${TMPDIR:-/tmp}/qcow2-packaging.XXXXXX")
trap '[ -z "${publish_pid:-}" ] || kill "$publish_pid" 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0
log="$work/log"
cases="$work/cases.xml"
: >"$cases"

# xml_escape: standard input with the five XML special characters escaped and control characters dropped.
xml_escape() {
    sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' -e "s/'/\&apos;/g" | tr -d '\000-\010\013\014\016-\037'
}

# record NAME SECONDS [FAILURE-TEXT-FILE]: one JUnit test case (only with --junit).
record() {
    [ -n "$junit" ] || return 0
    local name
    name=$(printf '%s' "$1" | xml_escape)
    if [ -n "${3:-}" ]; then
        { printf '    <testcase classname="packaging" name="%s" time="%s">\n      <failure message="check failed">' "$name" "$2"
          tail -n 20 "$3" | xml_escape
          printf '</failure>\n    </testcase>\n'; } >>"$cases"
    else
        printf '    <testcase classname="packaging" name="%s" time="%s"/>\n' "$name" "$2" >>"$cases"
    fi
}

# check NAME EXPECTED-PATTERN COMMAND...: runs the command in the scratch folder; passes when it exits 0 and its
# output matches the extended regular expression. The time recorded starts at $check_began when that is set.
check() {
    local name="$1" pattern="$2" began=${check_began:-$SECONDS}
    shift 2
    if (cd "$work/run" && "$@") >"$log" 2>&1 && grep -Eq -- "$pattern" "$log"; then
        echo "  pass  $name"
        passed=$((passed + 1))
        record "$name" $((SECONDS - began))
    else
        echo "  FAIL  $name"
        sed 's/^/        /' "$log" | tail -n 20
        failed=$((failed + 1))
        record "$name" $((SECONDS - began)) "$log"
    fi
}

# install_tool ID: installs one package from the folder feed into the temporary tool path.
install_tool() {
    NUGET_PACKAGES="$work/packages" build_dotnet tool install --tool-path "$work/tools" --configfile "$work/nuget.config" "$1"
}

# publish_result: what the background publish printed, and its exit status.
publish_result() {
    cat "$work/publish.log"
    return "$publish_rc"
}

# Runs the same checks on one set of tools (a folder of executables, or commands on PATH when dir is empty).
tools_work() {
    local how="$1" dir="$2"
    rm -rf "$work/run" && mkdir -p "$work/run"
    check "$how: qimg --version" '^qimg version ' "$dir"qimg --version
    check "$how: qimg create" "^Formatting 't.qcow2', fmt=qcow2" "$dir"qimg create -f qcow2 t.qcow2 64M
    check "$how: qimg info" '^virtual size: 64 MiB' "$dir"qimg info t.qcow2
    check "$how: qio write and read" '^read 65536/65536 bytes' "$dir"qio -c 'write -P 0x2a 0 64k' -c 'read -P 0x2a 0 64k' t.qcow2
    check "$how: qimg check" 'No errors were found on the image' "$dir"qimg check t.qcow2
    check "$how: mkimage dump-header" '^magic +0x514649fb' "$dir"mkimage t.qcow2 dump-header
    # The runner on the suite it carries, from a folder outside any clone.
    check "$how: iotests --list" '^001' "$dir"iotests --list
    check "$how: iotests 001 on reference" '^1 passed, 0 failed' "$dir"iotests 001
    check "$how: iotests 001 on reference-cli" '^1 passed, 0 failed' "$dir"iotests --target reference-cli 001
    if command -v qemu-img >/dev/null 2>&1; then
        check "$how: iotests 001 on qemu" '^1 passed, 0 failed' "$dir"iotests --target qemu 001
    fi
}

start=$SECONDS
mkdir -p "$work/run"
if [ -n "$installed" ]; then
    native=0 tool=0
    tools_work "$installed" "$installed/"
fi
publish_pid=""
if [ "$native" = 1 ]; then
    # The publish starts first and runs in the background while the dotnet tool checks run: those are one process at
    # a time, and the publish (four Native AOT compiles one after another, each only partly parallel, and a
    # single-threaded link after each) leaves one of two cores idle a quarter of its time. Its outputs are its own
    # (obj/publish/, dist/), apart from the plain Release build that dotnet pack uses.
    publish_began=$SECONDS
    "$root/publish.sh" >"$work/publish.log" 2>&1 &
    publish_pid=$!
fi
if [ "$tool" = 1 ]; then
    feed="$work/feed"
    # A feed of only this folder and a package cache of its own: the install cannot pick up a package of the same
    # name from a public feed or an older build of 0.1.0 from ~/.nuget/packages.
    mkdir -p "$feed" "$work/run"
    cat >"$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
  </packageSources>
</configuration>
XML
    # The four packages in one invocation (tools/Tools.slnx: the engine and Common are evaluated and checked once,
    # not four times), then one check per package on what that pack printed.
    check "dotnet pack tools/Tools.slnx" 'Successfully created package' \
        build_dotnet pack "$root/tools/Tools.slnx" -c Release -o "$feed" -nologo -v minimal
    cp "$log" "$work/pack.log"
    for id in qimg qio mkimage iotests; do
        check "dotnet pack: $id package" "Successfully created package '.*/$id\.[0-9.]+\.nupkg'" cat "$work/pack.log"
    done
    for id in qimg qio mkimage iotests; do
        check "dotnet tool install $id" 'was successfully installed' \
            install_tool "$id"
    done
    tools_work "dotnet tool" "$work/tools/"
fi

if [ -n "$publish_pid" ]; then
    # Into dist/<rid>/, the default, so that the reference-cli target uses these executables from now on.
    publish_rc=0
    wait "$publish_pid" || publish_rc=$?
    publish_pid=""
    check_began=$publish_began check "publish.sh (Native AOT, four tools)" '^published ' publish_result
    grep '^published ' "$log" | sed 's/^/        /'
    dist=$(sed -n 's/^published .* to \(.*\) in [0-9]* s$/\1/p' "$log")
    if [ -n "$dist" ] && [ -d "$dist" ]; then
        # A copy outside the clone, so the runner finds the suite beside itself and nothing else.
        cp -R "$dist" "$work/native"
        tools_work native "$work/native/"
    fi
fi

echo "packaging checks took $((SECONDS - start)) s"
if [ -n "$junit" ]; then
    mkdir -p "$(dirname "$junit")"
    { echo '<?xml version="1.0" encoding="utf-8"?>'
      echo '<testsuites>'
      printf '  <testsuite name="packaging" tests="%d" failures="%d" errors="0" skipped="0" time="%d">\n' \
          $((passed + failed)) "$failed" $((SECONDS - start))
      cat "$cases"
      echo '  </testsuite>'
      echo '</testsuites>'; } >"$junit"
fi
echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
