#!/usr/bin/env pwsh
# Runs the iotests-style conformance suite (tests/iotests) against a target; same options and output as run-tests.sh.
# Usage: ./run-tests.ps1 [--debug] [--all | --unit] [-g GROUP] [-x GROUP] [--target NAME] [--bless] [-j N]
#                        [--junit FILE|DIR] [--ci] [NNN ...]
# ./run-tests.ps1 --help lists every option (the same text as run-tests.sh --help); tests/README.md explains them.
# With the local tool manifest: dotnet tool restore; dotnet pwsh ./run-tests.ps1 -g quick
# Exit status: 0 when everything passed, 1 on failures, 2 on a usage error or a build failure.
# IOTESTS_ARTIFACTS=DIR builds with --artifacts-path DIR instead of the projects' bin/ folders.
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$config = 'Release'
$mode = 'suite'
$help = $false
$target = 'reference'
$junit = ''
$passThrough = [System.Collections.Generic.List[string]]::new()

function Exit-Usage([string] $message) {
    Write-Output "run-tests.ps1: $message (see --help)"
    exit 2
}

for ($i = 0; $i -lt $args.Count; $i++) {
    $a = [string]$args[$i]
    switch -CaseSensitive ($a) {
        '--debug' { $config = 'Debug' }
        { $_ -in '--all', '--unit' } {
            $m = $a.Substring(2)
            if ($mode -ne 'suite' -and $mode -ne $m) { Exit-Usage '--all and --unit exclude each other' }
            $mode = $m
        }
        '--target' {
            if ($i + 1 -ge $args.Count) { Exit-Usage 'option --target needs a value' }
            $target = [string]$args[$i + 1]; $passThrough.Add('--target'); $passThrough.Add($target); $i++
        }
        '--junit' {
            if ($i + 1 -ge $args.Count -or [string]$args[$i + 1] -eq '') { Exit-Usage 'option --junit needs a value' }
            $junit = [string]$args[$i + 1]; $i++
        }
        { $_ -in '-h', '--help' } { $help = $true }
        default { $passThrough.Add($a) }
    }
}

$buildArgs = @('-c', $config, '-v', 'quiet', '-nologo')
if ($env:IOTESTS_ARTIFACTS) {
    $buildArgs += @('--artifacts-path', $env:IOTESTS_ARTIFACTS)
    $harness = Join-Path $env:IOTESTS_ARTIFACTS "bin/Harness/$($config.ToLowerInvariant())/iotests.dll"
    $unitBin = Join-Path $env:IOTESTS_ARTIFACTS "bin/Qcow2.UnitTests/$($config.ToLowerInvariant())"
} else {
    $harness = Join-Path $root "tests/Harness/bin/$config/net10.0/iotests.dll"
    $unitBin = Join-Path $root "tests/UnitTests/bin/$config/net10.0"
}
$harnessProject = Join-Path $root 'tests/Harness/Harness.csproj'
$testProject = Join-Path $root 'tests/UnitTests/Qcow2.UnitTests.csproj'

# Builds a project quietly; when that fails, builds again showing the output, and exits 2 if it fails again.
function Build-Project([string] $project) {
    dotnet build $project @buildArgs | Out-Null
    if ($LASTEXITCODE -ne 0) {
        dotnet build $project @buildArgs | Out-Host
        if ($LASTEXITCODE -ne 0) {
            Write-Output "run-tests.ps1: the build of $(Split-Path -Leaf $project) failed"
            exit 2
        }
    }
}

function Invoke-Suite([string[]] $extra) {
    dotnet $harness --root $root @passThrough @extra | Out-Host
    return $LASTEXITCODE
}

function Format-Elapsed([datetime] $since) {
    $s = [int]((Get-Date) - $since).TotalSeconds
    return '{0}m{1:00}s' -f [math]::Floor($s / 60), ($s % 60)
}

# Runs the unit and interop tests (dotnet test with a filter, JUnit file if given), streaming their output. A thread
# prints a heartbeat every 10 s with the counts so far (from the test assembly's progress file), as run-tests.sh does.
function Invoke-UnitTests([string] $filter, [string] $junitFile) {
    $progress = New-TemporaryFile
    $logger = @()
    if ($junitFile) { $logger = @('--logger', "junit;LogFilePath=$junitFile;MethodFormat=Class;FailureBodyFormat=Verbose") }
    $beat = Start-ThreadJob -ArgumentList $progress.FullName, (Get-Date) -ScriptBlock {
        param($file, $since)
        while ($true) {
            Start-Sleep -Seconds 10
            $s = [int]((Get-Date) - $since).TotalSeconds
            $when = '{0}m{1:00}s' -f [math]::Floor($s / 60), ($s % 60)
            $parts = "$(Get-Content -LiteralPath $file -ErrorAction SilentlyContinue)" -split ' ', 5
            if ($parts.Count -ge 5) {
                [Console]::WriteLine("  ... ${when}: $($parts[0]) tests done ($($parts[1]) passed, $($parts[2]) failed, $($parts[3]) skipped), now in $($parts[4])")
            } else {
                [Console]::WriteLine("  ... ${when}: starting the test host")
            }
        }
    }
    $env:QCOW2_TEST_PROGRESS = $progress.FullName
    # No W^X double mapping of JIT'd code in the test host, as run-tests.sh (see there).
    $wxBefore = $env:DOTNET_EnableWriteXorExecute
    $env:DOTNET_EnableWriteXorExecute = '0'
    try {
        dotnet test $testProject @buildArgs --no-build -v minimal --filter $filter @logger
    } finally {
        Remove-Item Env:QCOW2_TEST_PROGRESS
        $env:DOTNET_EnableWriteXorExecute = $wxBefore
        Stop-Job $beat; Remove-Job $beat -Force
        Remove-Item -LiteralPath $progress.FullName -ErrorAction SilentlyContinue
    }
}

if ($help) {
    Build-Project $harnessProject
    exit (Invoke-Suite @('--help'))
}

if ($mode -eq 'suite') {
    Write-Output "building the harness and the tools ($config)..."
    Build-Project $harnessProject
    $extra = @()
    if ($junit) { $extra = @('--junit', $junit) }
    exit (Invoke-Suite $extra)
}

Write-Output "building the engine, the tools, the harness and the tests ($config)..."
Build-Project $testProject
# Bad harness options or scenario names stop here with the harness's one-line error, not after the unit tests.
$check = @(dotnet $harness --root $root @passThrough --list 2>&1 | ForEach-Object { "$_" })
if ($LASTEXITCODE -ne 0) {
    Write-Output ($check | Select-Object -Last 1)
    exit 2
}

if ($mode -eq 'unit') {
    Invoke-UnitTests 'TestCategory!=iotests&TestCategory!=slow' $junit | Out-Host
    exit $LASTEXITCODE
}

# --all: every test, as run-tests.sh --all does. QEMU's tools first (the interop tests and the qemu target need
# them), then the unit and interop tests (the slow category too), the suite on the chosen target, reference-cli and
# QEMU. With --junit DIR each step writes DIR/<step>.xml. One closing line adds them all up. (The quick group through
# run-tests.ps1 is run-tests.sh's extra step; here we are that script.)
if (-not (Get-Command qemu-img -ErrorAction SilentlyContinue) -or -not (Get-Command qemu-io -ErrorAction SilentlyContinue)) {
    $isRoot = $IsLinux -and ((id -u) -eq '0')
    if ($isRoot -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        Write-Output 'qemu-img not found: installing qemu-utils'
        apt-get update -qq | Out-Null
        $env:DEBIAN_FRONTEND = 'noninteractive'
        apt-get install -y -qq qemu-utils | Out-Null
    } else {
        Write-Output 'qemu-img not found: the interop tests and the qemu target need QEMU''s tools, e.g.'
        Write-Output '  sudo apt-get install qemu-utils    (Debian/Ubuntu)'
        Write-Output '  sudo dnf install qemu-img           (Fedora)'
        Write-Output '  brew install qemu                   (macOS)'
        Write-Output '  winget install SoftwareFreedomConservancy.QEMU   (Windows)'
    }
}

$junitDir = ''
if ($junit) {
    $junitDir = (New-Item -ItemType Directory -Force -Path $junit).FullName
}
function Get-JunitFile([string] $name) {
    if ($junitDir) { return (Join-Path $junitDir "$name.xml") }
    return ''
}
function Get-JunitArgs([string] $name) {
    if ($junitDir) { return @('--junit', (Join-Path $junitDir "$name.xml")) }
    return @()
}

$script:status = 0
$script:counts = @{ passed = 0; failed = 0; skipped = 0 }
$script:timings = [System.Collections.Generic.List[string]]::new()

# Runs one step, echoing its output as it comes, and adds its closing counts (the suite's "N passed, N failed,
# N skipped" or dotnet test's "Failed: N, Passed: N, Skipped: N"); a step without counts counts as one failure.
function Invoke-Step([string] $title, [scriptblock] $body) {
    $since = Get-Date
    Write-Output ''
    Write-Output "=== $title ==="
    $lines = [System.Collections.Generic.List[string]]::new()
    & $body 2>&1 | ForEach-Object { $line = "$_"; $lines.Add($line); Write-Host $line }
    $rc = $LASTEXITCODE
    if ($rc -ne 0) { $script:status = 1 }
    $suite = $lines | Where-Object { $_ -match '^(\d+) passed, (\d+) failed(, (\d+) skipped)?' } | Select-Object -Last 1
    $test = $lines | Where-Object { $_ -match 'Failed: +(\d+), Passed: +(\d+), Skipped: +(\d+)' } | Select-Object -Last 1
    if ($suite -and $suite -match '^(\d+) passed, (\d+) failed(, (\d+) skipped)?') {
        $script:counts.passed += [int]$Matches[1]; $script:counts.failed += [int]$Matches[2]
        if ($Matches[4]) { $script:counts.skipped += [int]$Matches[4] }
    } elseif ($test -and $test -match 'Failed: +(\d+), Passed: +(\d+), Skipped: +(\d+)') {
        $script:counts.failed += [int]$Matches[1]; $script:counts.passed += [int]$Matches[2]; $script:counts.skipped += [int]$Matches[3]
    } else {
        $script:counts.failed += 1
    }
    $script:timings.Add(('{0,-36} {1}' -f $title, (Format-Elapsed $since)))
}

$allSince = Get-Date
$unitJunit = Get-JunitFile 'unit-tests'
Invoke-Step 'unit and interop tests' { Invoke-UnitTests 'TestCategory!=iotests' $unitJunit }
# The suite on QEMU gets the fast clock for QEMU's PBKDF2 benchmark that the unit tests built (QemuClock, tests/README.md):
# its LUKS scenarios spend most of their time in that benchmark otherwise.
function Invoke-WithQemuClock([scriptblock] $body) {
    $clock = Join-Path $unitBin 'qemu-clock.so'
    $saved = $env:LD_PRELOAD
    if (Test-Path $clock) { $env:LD_PRELOAD = if ($saved) { "$clock $saved" } else { $clock } }
    try { & $body } finally { $env:LD_PRELOAD = $saved }
}

$j = Get-JunitArgs "suite-$target"
if ($target -eq 'qemu') {
    Invoke-WithQemuClock { Invoke-Step "suite on $target" { dotnet $harness --root $root @passThrough @j } }
} else {
    Invoke-Step "suite on $target" { dotnet $harness --root $root @passThrough @j }
}
if ($target -eq 'reference') {
    $j = Get-JunitArgs 'suite-reference-cli'
    Invoke-Step 'suite on reference-cli' { dotnet $harness --root $root @passThrough --target reference-cli @j }
}
if ($target -ne 'qemu' -and (Get-Command qemu-img -ErrorAction SilentlyContinue)) {
    $j = Get-JunitArgs 'suite-qemu'
    Invoke-WithQemuClock { Invoke-Step 'suite on qemu' { dotnet $harness --root $root @passThrough --target qemu @j } }
}

Write-Output ''
$script:timings | ForEach-Object { Write-Output $_ }
Write-Output ('{0,-36} {1}' -f 'all steps', (Format-Elapsed $allSince))
if ($junitDir) { Write-Output "JUnit reports: $junitDir" }
Write-Output "Total: $($script:counts.passed) passed, $($script:counts.failed) failed, $($script:counts.skipped) skipped"
if ($script:counts.failed -ne 0) { $script:status = 1 }
exit $script:status
