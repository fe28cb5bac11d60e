"""kvqae.index"""
