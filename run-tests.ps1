#!/usr/bin/env pwsh
# Runs the iotests-style conformance suite (tests/iotests) against a target; same options and output as run-tests.sh.
# Usage: ./run-tests.ps1 [--debug] [--all] [-g GROUP] [-x GROUP] [--target NAME] [--bless] [-j N] [--junit FILE] [NNN ...]
# With the local tool manifest: dotnet tool restore; dotnet pwsh ./run-tests.ps1 -g quick
# IOTESTS_ARTIFACTS=DIR builds with --artifacts-path DIR instead of the projects' bin/ folders.
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$config = 'Release'
$all = $false
$target = 'reference'
$passThrough = [System.Collections.Generic.List[string]]::new()
for ($i = 0; $i -lt $args.Count; $i++) {
    switch ($args[$i]) {
        '--debug' { $config = 'Debug' }
        '--all' { $all = $true }
        '--target' { $target = $args[$i + 1]; $passThrough.Add('--target'); $passThrough.Add($args[$i + 1]); $i++ }
        default { $passThrough.Add([string]$args[$i]) }
    }
}

$buildArgs = @('-c', $config, '-v', 'quiet', '-nologo')
if ($env:IOTESTS_ARTIFACTS) {
    $buildArgs += @('--artifacts-path', $env:IOTESTS_ARTIFACTS)
    $harness = Join-Path $env:IOTESTS_ARTIFACTS "bin/Harness/$($config.ToLowerInvariant())/iotests.dll"
} else {
    $harness = Join-Path $root "tests/Harness/bin/$config/net10.0/iotests.dll"
}

$project = Join-Path $root 'tests/Harness/Harness.csproj'
dotnet build $project @buildArgs | Out-Null
if ($LASTEXITCODE -ne 0) {
    # Show the errors only when the quiet build failed.
    dotnet build $project @buildArgs
    exit 2
}

function Invoke-Suite([string[]] $extra) {
    dotnet $harness --root $root @passThrough @extra | Out-Host
    return $LASTEXITCODE
}

if (-not $all) {
    exit (Invoke-Suite @())
}

# --all: every test, as run-tests.sh --all does. QEMU's tools first (the interop tests and the qemu target need
# them), then the unit and interop tests, the suite on the chosen target, reference-cli and QEMU. One closing line
# adds them all up. (The quick group through run-tests.ps1 is run-tests.sh's extra step; here we are that script.)
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

$script:status = 0
$script:counts = @{ passed = 0; failed = 0; skipped = 0 }

# Runs one step, echoing its output, and adds its closing counts (the suite's "N passed, N failed, N skipped" or
# dotnet test's "Failed: N, Passed: N, Skipped: N"); a step without counts counts as one failure.
function Invoke-Step([string] $title, [scriptblock] $body) {
    Write-Output ''
    Write-Output "=== $title ==="
    $lines = @(& $body 2>&1 | ForEach-Object { "$_" })
    $rc = $LASTEXITCODE
    $lines | Out-Host
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
}

$testProject = Join-Path $root 'tests/UnitTests/Qcow2.UnitTests.csproj'
Invoke-Step 'unit and interop tests' { dotnet test $testProject @buildArgs -v minimal --filter 'TestCategory!=iotests' }
Invoke-Step "suite on $target" { dotnet $harness --root $root @passThrough }
if ($target -eq 'reference') {
    Invoke-Step 'suite on reference-cli' { dotnet $harness --root $root @passThrough --target reference-cli }
}
if ($target -ne 'qemu' -and (Get-Command qemu-img -ErrorAction SilentlyContinue)) {
    Invoke-Step 'suite on qemu' { dotnet $harness --root $root @passThrough --target qemu }
}

Write-Output ''
Write-Output "Total: $($script:counts.passed) passed, $($script:counts.failed) failed, $($script:counts.skipped) skipped"
if ($script:counts.failed -ne 0) { $script:status = 1 }
exit $script:status
