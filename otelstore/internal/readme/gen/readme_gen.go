package readmegen
