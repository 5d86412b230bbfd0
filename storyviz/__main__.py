from storyviz.cli import main

main()
