from hayhooks.cli.launch import main

main()
