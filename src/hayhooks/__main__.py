from hayhooks.cli import main

main()
