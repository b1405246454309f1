"""`python -m kit`: the same CLI as the `kit` command (handy in worktrees and fresh clones)."""

from kit.cli import main

main()
