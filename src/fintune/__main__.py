from fintune.cli import main

main()
