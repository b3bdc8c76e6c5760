from latentwatch.cli import main

main()
