<#
.SYNOPSIS
The Docker Quickstart Terminal for PowerShell (Windows PowerShell 5.1 and PowerShell 7).

.DESCRIPTION
Creates the machine if it is missing, starts it if it is not running, makes sure its certificates
are valid, shows the whale and how to reach the machine, then leaves you in this PowerShell with
DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, DOCKER_MACHINE_NAME and
COMPOSE_CONVERT_WINDOWS_PATHS set. Start it so that the window stays open:

    powershell.exe -NoLogo -NoExit -ExecutionPolicy Bypass -File quickstart.ps1 [-Machine NAME]

(bin\quickstart.cmd does that when Git for Windows, whose Git Bash it prefers, is not installed.)
#>
param(
    [string]$Machine = $(if ($env:DOCKER_MACHINE_NAME) { $env:DOCKER_MACHINE_NAME } else { 'default' })
)

$machineJs = Join-Path $PSScriptRoot 'machine'
function Invoke-Machine { & node $machineJs @args }

$step = 'Starting'
try {
    # The docker CLI cannot use an ALL_PROXY that is not a socks proxy (Toolbox cleared it too).
    foreach ($name in 'ALL_PROXY', 'all_proxy') {
        $value = [Environment]::GetEnvironmentVariable($name)
        if ($value -and $value -notlike 'socks*') { Remove-Item "Env:\$name" -ErrorAction SilentlyContinue }
    }

    $step = "Checking machine $Machine"
    Invoke-Machine quickstart $Machine
    if ($LASTEXITCODE -ne 0) { throw "machine quickstart exited with $LASTEXITCODE" }

    $step = 'Setting env'
    $envArgs = @('env', '--shell', 'powershell')
    if ($env:HTTP_PROXY -or $env:HTTPS_PROXY) { $envArgs += '--no-proxy' }
    $envArgs += $Machine
    $envScript = Invoke-Machine @envArgs | Out-String
    if ($LASTEXITCODE -ne 0) { throw "machine env exited with $LASTEXITCODE" }
    Invoke-Expression $envScript
}
catch {
    Write-Host "Looks like something went wrong in step '$step': $_"
    Read-Host 'Press Enter to continue...' | Out-Null
    exit 1
}
Write-Host 'Start interactive shell'
