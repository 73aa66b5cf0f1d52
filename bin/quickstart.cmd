@echo off
rem The Docker Quickstart Terminal for Windows: in Git Bash, as Docker Toolbox's shortcut started it,
rem when Git for Windows is installed; otherwise in PowerShell (quickstart.ps1).
rem Arguments are passed on: a command to run instead of the interactive shell (Git Bash),
rem or -Machine NAME (PowerShell). The machine is %DOCKER_MACHINE_NAME%, else "default".
setlocal
set "QS_HERE=%~dp0"
set "QS_BASH="
for %%B in ("%ProgramW6432%\Git\bin\bash.exe" "%ProgramFiles%\Git\bin\bash.exe" "%LOCALAPPDATA%\Programs\Git\bin\bash.exe") do (
  if not defined QS_BASH if exist "%%~B" set "QS_BASH=%%~B"
)
if defined QS_BASH (
  "%QS_BASH%" --login -i "%QS_HERE%quickstart" %*
) else (
  powershell.exe -NoLogo -NoExit -ExecutionPolicy Bypass -File "%QS_HERE%quickstart.ps1" %*
)
