"""Control surfaces and the modulation matrix: OSC, MIDI, tempo (Link, MIDI clock, audio), LFOs, quantized changes."""
