from explainer.train import main

main()
