"""The shared floor of reportqa: settings, models, figures, text normalisation, tokenising,
embedding, prompt files and the index format with its reader. Every other package stands on it;
it imports none of them."""
