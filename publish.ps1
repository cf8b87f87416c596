#!/usr/bin/env pwsh
# Publishes qimg, qio, mkimage and the iotests runner as Native AOT executables for this machine, into one folder;
# the same as publish.sh.
#
#   ./publish.ps1 [-r RID] [DIR]        DIR defaults to dist/<rid>/ (e.g. dist/win-x64/)
#
# The folder is self-contained: the four executables and a copy of the suite (tests/iotests, tests/golden,
# tests/targets). Needs the .NET 10 SDK and the platform linker Native AOT uses (Windows: Visual Studio's
# "Desktop development with C++"; Linux: clang, zlib1g-dev).
$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$rid = ''
$out = ''
for ($i = 0; $i -lt $args.Count; $i++) {
    switch -CaseSensitive ($args[$i]) {
        '-r' { $rid = [string]$args[$i + 1]; $i++; continue }
        { $_ -like '-*' } { [Console]::Error.WriteLine("publish.ps1: unknown option $($args[$i])"); exit 2 }
        default { $out = [string]$args[$i] }
    }
}

if (-not $rid) {
    $rid = (dotnet msbuild (Join-Path $root 'tools/qimg/qimg.csproj') -getProperty:NETCoreSdkRuntimeIdentifier -nologo).Trim()
}
if (-not $out) { $out = Join-Path $root "dist/$rid" }
New-Item -ItemType Directory -Force -Path $out | Out-Null
$out = (Resolve-Path $out).Path
$stage = Join-Path $root "obj/publish/$rid"
$exe = if ($rid -like 'win-*') { '.exe' } else { '' }

$watch = [System.Diagnostics.Stopwatch]::StartNew()
$projects = @('tools/qimg/qimg.csproj', 'tools/qio/qio.csproj', 'tools/mkimage/mkimage.csproj', 'tests/Harness/Harness.csproj')
foreach ($project in $projects) {
    $name = [System.IO.Path]::GetFileNameWithoutExtension($project)
    if ($name -eq 'Harness') { $name = 'iotests' }
    Write-Output "publishing $name ($rid, Native AOT)"
    $dir = Join-Path $stage $name
    if (Test-Path $dir) { Remove-Item -Recurse -Force $dir }
    $log = dotnet publish (Join-Path $root $project) -c Release -r $rid -p:PublishAot=true -p:RunAnalyzers=false --artifacts-path (Join-Path $stage 'artifacts') -o $dir -v quiet -nologo 2>&1
    if ($LASTEXITCODE -ne 0) {
        $log | Out-Host
        [Console]::Error.WriteLine("publish.ps1: publishing $name failed")
        exit 1
    }
    Copy-Item (Join-Path $dir "$name$exe") (Join-Path $out "$name$exe") -Force
}

$tests = Join-Path $out 'tests'
if (Test-Path $tests) { Remove-Item -Recurse -Force $tests }
New-Item -ItemType Directory -Force -Path $tests | Out-Null
foreach ($part in 'iotests', 'golden', 'targets') {
    Copy-Item -Recurse (Join-Path $root "tests/$part") (Join-Path $tests $part)
}

Write-Output "published qimg qio mkimage iotests to $out in $([int]$watch.Elapsed.TotalSeconds) s"
