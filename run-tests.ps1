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

# --all: unit and interop tests, then the suite on the chosen target, reference-cli and QEMU.
$status = 0
dotnet test (Join-Path $root 'tests/UnitTests/Qcow2.UnitTests.csproj') @buildArgs
if ($LASTEXITCODE -ne 0) { $status = 1 }
if ((Invoke-Suite @()) -ne 0) { $status = 1 }
if ($target -eq 'reference') {
    if ((Invoke-Suite @('--target', 'reference-cli')) -ne 0) { $status = 1 }
}

if (-not (Get-Command qemu-img -ErrorAction SilentlyContinue)) {
    $isRoot = $IsLinux -and ((id -u) -eq '0')
    if ($isRoot -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        Write-Output 'qemu-img not found: installing qemu-utils'
        apt-get update -qq | Out-Null
        $env:DEBIAN_FRONTEND = 'noninteractive'
        apt-get install -y -qq qemu-utils | Out-Null
    } else {
        Write-Output 'qemu-img not found: install QEMU''s tools to run the suite against QEMU, e.g.'
        Write-Output '  sudo apt-get install qemu-utils    (Debian/Ubuntu)'
        Write-Output '  sudo dnf install qemu-img           (Fedora)'
        Write-Output '  brew install qemu                   (macOS)'
        Write-Output '  winget install SoftwareFreedomConservancy.QEMU   (Windows)'
    }
}
if ($target -ne 'qemu' -and (Get-Command qemu-img -ErrorAction SilentlyContinue)) {
    if ((Invoke-Suite @('--target', 'qemu')) -ne 0) { $status = 1 }
}
exit $status
